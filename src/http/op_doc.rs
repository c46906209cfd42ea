//! Descriptions of the endpoints that are not plain FHIR interactions (FHIR operations,
//! records-room, reporting, export and admin routes). Each area module lists its own in an
//! `OPERATIONS` table next to its routes; the OpenAPI document is built from these tables.

/// One method on one path.
#[derive(Clone, Copy, Debug)]
pub struct OperationDoc {
    /// `get`, `post`, `put`, `delete`.
    pub method: &'static str,
    /// Full path with `{name}` placeholders, e.g. `/fhir/Encounter/{id}/$billing-codes`.
    pub path: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    /// Area: `records`, `reporting`, `export`, `terminology`, `coding`, `security`, `admin`.
    pub tag: &'static str,
    /// SMART scopes, any one of which allows the call (empty: public).
    pub scopes: &'static [&'static str],
    pub params: &'static [ParamDoc],
    /// Request body: a FHIR resource type (`Parameters`, `Bundle`, `Patient` ...) or a media
    /// type (`application/x-www-form-urlencoded`); None when the call takes no body.
    pub body: Option<&'static str>,
    /// Successful responses; error responses (OperationOutcome) are added for every operation.
    pub responses: &'static [ResponseDoc],
}

/// Where a parameter goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParamIn {
    Path,
    Query,
    Header,
}

/// One parameter.
#[derive(Clone, Copy, Debug)]
pub struct ParamDoc {
    pub name: &'static str,
    pub location: ParamIn,
    pub required: bool,
    /// `string`, `integer`, `number`, `boolean`, `date` (YYYY[-MM[-DD]]), `token`
    /// (`system|code`), `reference`, `code-range` (`C00-C96`, `E10,E11`).
    pub kind: &'static str,
    pub description: &'static str,
}

/// One successful response.
#[derive(Clone, Copy, Debug)]
pub struct ResponseDoc {
    pub status: u16,
    /// A FHIR resource type (`Parameters`, `Bundle`, `MeasureReport`, `OperationOutcome`),
    /// or a media type (`text/csv`, `image/svg+xml`, `application/fhir+ndjson`), or `none`.
    pub body: &'static str,
    pub description: &'static str,
}
