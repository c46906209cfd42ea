//! Who a report is computed for: which sealed records stay out and whether small cells
//! are suppressed.

use crate::auth::access::SENSITIVE_LABELS;
use crate::auth::{Access, Principal};

/// The clearance that lets a caller see unsuppressed (identified-level) counts.
pub const IDENTIFIED_DATA: &str = "identified-data";

/// The data limits of one report run.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// Records carrying any of these security labels never count.
    pub hidden_labels: Vec<String>,
    /// Patients whose privacy Consent denies this caller; they never count.
    pub denied_patients: Vec<String>,
    /// True with the identified-data permission: no small-cell suppression.
    pub identified: bool,
}

impl Caller {
    /// The limits of an HTTP caller: its hidden labels, and identified data with the
    /// `identified-data` clearance (or `*`, which break-the-glass and auth-off grant).
    pub fn of(principal: &Principal, access: &Access, denied_patients: Vec<String>) -> Caller {
        Caller {
            hidden_labels: access.hidden_labels.clone(),
            denied_patients,
            identified: principal.unrestricted
                || principal
                    .clearances
                    .iter()
                    .any(|c| c == "*" || c == IDENTIFIED_DATA),
        }
    }

    /// The limits of a scheduled job (`chartroom report`): sealed records out and small
    /// cells suppressed, unless the operator asks for identified output.
    pub fn job(identified: bool) -> Caller {
        Caller {
            hidden_labels: if identified {
                Vec::new()
            } else {
                SENSITIVE_LABELS.iter().map(|l| l.to_string()).collect()
            },
            denied_patients: Vec::new(),
            identified,
        }
    }
}
