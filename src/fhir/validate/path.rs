//! The FHIRPath location of the element being validated, kept as a stack of borrowed
//! segments and rendered to text only when an issue is reported.

use std::fmt::Write;

#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Name(&'a str),
    Index(usize),
    OfType(&'a str),
}

/// Location stack; an empty stack renders as `Resource`.
#[derive(Debug, Default)]
pub(super) struct Location<'a> {
    segments: Vec<Segment<'a>>,
}

impl<'a> Location<'a> {
    /// Enters a named element (or, first, the resource type).
    pub fn push_name(&mut self, name: &'a str) {
        self.segments.push(Segment::Name(name));
    }

    /// Enters the `index`th item of the repeating element just entered.
    pub fn push_index(&mut self, index: usize) {
        self.segments.push(Segment::Index(index));
    }

    /// Narrows the choice element just entered to one of its types.
    pub fn push_type(&mut self, type_name: &'a str) {
        self.segments.push(Segment::OfType(type_name));
    }

    /// Leaves the innermost segment.
    pub fn pop(&mut self) {
        self.segments.pop();
    }

    /// How many segments deep the location is.
    pub fn depth(&self) -> usize {
        self.segments.len()
    }

    /// Leaves segments until only `depth` remain.
    pub fn truncate(&mut self, depth: usize) {
        self.segments.truncate(depth);
    }

    /// The location as FHIRPath text, optionally with one more element name.
    pub fn render(&self, extra: Option<&str>) -> String {
        let mut text = String::new();
        let names = self.segments.iter().copied().map(Some);
        for segment in names
            .chain(std::iter::once(extra.map(Segment::Name)))
            .flatten()
        {
            // Writing to a String cannot fail.
            let _ = match segment {
                Segment::Name(name) if text.is_empty() => write!(text, "{name}"),
                Segment::Name(name) => write!(text, ".{name}"),
                Segment::Index(index) => write!(text, "[{index}]"),
                Segment::OfType(type_name) => write!(text, ".ofType({type_name})"),
            };
        }
        if text.is_empty() {
            text.push_str("Resource");
        }
        text
    }
}
