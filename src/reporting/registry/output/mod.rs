//! Output formats of an extract, each written record by record to any `Write` so memory
//! does not grow with the number of patients.

mod csv;
mod fhir;
mod naaccr;
mod naaccr_codes;

use super::definition::Definition;
use super::record::Record;
use crate::error::{AppError, AppResult};
use crate::reporting::deid::Mode;
use std::io::Write;

/// A destination format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FHIR Bundle of type `collection`.
    Bundle,
    /// One resource per line.
    Ndjson,
    /// One row per patient (per tumour for cancer).
    Csv,
    /// NAACCR XML (NaaccrData / Patient / Tumor / Item), cancer only.
    NaaccrXml,
}

impl Format {
    /// `bundle`, `ndjson`, `csv` or `naaccr-xml` (FHIR `_format` spellings accepted too).
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "bundle" | "json" | "application/fhir+json" | "application/json" => {
                Some(Format::Bundle)
            }
            "ndjson" | "application/fhir+ndjson" | "application/ndjson" => Some(Format::Ndjson),
            "csv" | "text/csv" => Some(Format::Csv),
            "naaccr-xml" | "application/xml" => Some(Format::NaaccrXml),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Format::Bundle => "bundle",
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
            Format::NaaccrXml => "naaccr-xml",
        }
    }

    /// The media type of the body.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Bundle => "application/fhir+json; charset=utf-8",
            Format::Ndjson => "application/fhir+ndjson",
            Format::Csv => "text/csv; charset=utf-8",
            Format::NaaccrXml => "application/xml; charset=utf-8",
        }
    }

    /// Refuses a format the registry does not offer.
    pub fn check(self, definition: &Definition) -> AppResult<()> {
        if definition.formats.iter().any(|f| f == self.code()) {
            Ok(())
        } else {
            Err(AppError::invalid(format!(
                "registry '{}' is extracted as {}, not {}",
                definition.name,
                definition.formats.join(", "),
                self.code()
            )))
        }
    }
}

/// Streams records in one format.
pub struct Writer<'a> {
    format: Format,
    definition: &'a Definition,
    /// FHIR base URL for `fullUrl` (None: entries have no fullUrl).
    base_url: Option<String>,
    /// The de-identification applied (identified: NAACCR record type C, else I).
    mode: Mode,
    written: u64,
}

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(format!("writing the extract: {e}"))
}

impl<'a> Writer<'a> {
    pub fn new(
        format: Format,
        definition: &'a Definition,
        base_url: Option<String>,
        mode: Mode,
    ) -> Writer<'a> {
        Writer {
            format,
            definition,
            base_url,
            mode,
            written: 0,
        }
    }

    pub fn begin(&mut self, out: &mut dyn Write) -> AppResult<()> {
        match self.format {
            Format::Bundle => fhir::bundle_begin(out),
            Format::Ndjson => Ok(()),
            Format::Csv => csv::header(out, self.definition),
            Format::NaaccrXml => naaccr::begin(out, self.mode == Mode::None),
        }
        .map_err(io)
    }

    /// Writes one record as sent (`record`, de-identified or not); `original` is the record
    /// as stored, for the values de-identification may keep but not derive (ages).
    pub fn record(
        &mut self,
        out: &mut dyn Write,
        record: &Record,
        original: &Record,
    ) -> AppResult<()> {
        let first = self.written == 0;
        self.written += 1;
        match self.format {
            Format::Bundle => fhir::bundle_entries(out, record, self.base_url.as_deref(), first),
            Format::Ndjson => fhir::ndjson(out, record),
            Format::Csv => csv::rows(out, self.definition, record),
            Format::NaaccrXml => naaccr::patient(out, record, original, self.mode, self.written),
        }
        .map_err(io)
    }

    pub fn finish(&mut self, out: &mut dyn Write) -> AppResult<()> {
        match self.format {
            Format::Bundle => fhir::bundle_end(out, self.written > 0),
            Format::NaaccrXml => naaccr::end(out),
            Format::Ndjson | Format::Csv => Ok(()),
        }
        .map_err(io)?;
        out.flush().map_err(io)
    }
}
