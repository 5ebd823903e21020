//! Reading an OVAL definitions document (Red Hat's v2 layout) into [`OvalDocument`],
//! streaming with quick-xml. Descriptions are skipped; everything the evaluation and the
//! result need is kept. Nesting is bounded ([`MAX_DEPTH`]), every event is bounded in size,
//! and malformed XML is an error naming the line.

use super::{Criteria, Definition, Entity, Node, Object, Operator, OvalDocument, State, Test};
use quick_xml::events::{BytesStart, Event};
use std::io::BufRead;

/// Deepest element nesting accepted (Red Hat's criteria trees are a handful deep).
pub const MAX_DEPTH: usize = 256;
use repodata::updateinfo::Counting;
/// Longest single XML event accepted (the bound [`Counting`] enforces).
pub use repodata::updateinfo::MAX_EVENT_BYTES;
const MAX_TEXT: usize = 64 * 1024;

fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        if a.key.local_name().as_ref() == key {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        } else {
            None
        }
    })
}

fn local(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_string()
}

/// Where in the document an element sits, by the parts that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Generator,
    Definitions,
    Tests,
    Objects,
    States,
    Other,
}

/// What text is being collected, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TextFor {
    Timestamp,
    Title,
    Severity,
    Cve,
    Platform,
    /// An entity of the current object or state: (name, operation, datatype, var_ref).
    Entity(String, Option<String>, Option<String>, Option<String>),
}

/// The item (test, object or state) being read in its section.
enum Item {
    Test(Test),
    Object(Object),
    State(State),
}

/// Parse a whole OVAL document.
pub fn parse(input: impl BufRead) -> Result<OvalDocument, String> {
    let mut xml = quick_xml::Reader::from_reader(Counting {
        inner: input,
        newlines: 0,
        offset: 0,
        event_start: 0,
    });
    let config = xml.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = true;

    let mut doc = OvalDocument::default();
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut section = Section::None;
    let mut definition: Option<Definition> = None;
    let mut criteria: Vec<Criteria> = Vec::new();
    let mut item: Option<Item> = None;
    let mut text_for: Option<TextFor> = None;
    let mut text = String::new();
    let mut saw_root = false;

    loop {
        {
            let c = xml.get_mut();
            c.event_start = c.offset;
        }
        let line = xml.get_ref().newlines + 1;
        buf.clear();
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| format!("malformed XML at line {line} (byte {}): {e}", xml.error_position()))?;
        match event {
            Event::Start(e) => {
                let name = local(&e);
                if !saw_root {
                    if name != "oval_definitions" {
                        return Err(format!(
                            "not an OVAL definitions document: the root element is <{name}>, not <oval_definitions>"
                        ));
                    }
                    saw_root = true;
                    stack.push(name);
                    continue;
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("line {line}: elements nested deeper than {MAX_DEPTH}"));
                }
                if stack.len() == 1 {
                    section = match name.as_str() {
                        "generator" => Section::Generator,
                        "definitions" => Section::Definitions,
                        "tests" => Section::Tests,
                        "objects" => Section::Objects,
                        "states" => Section::States,
                        _ => Section::Other,
                    };
                }
                let depth = stack.len();
                match section {
                    Section::Generator if name == "timestamp" => text_for = Some(TextFor::Timestamp),
                    Section::Definitions => {
                        if depth == 2 && name == "definition" {
                            definition = Some(Definition {
                                id: attr(&e, "id").unwrap_or_default(),
                                class: attr(&e, "class").unwrap_or_default(),
                                line,
                                ..Definition::default()
                            });
                        } else if let Some(def) = definition.as_mut() {
                            match name.as_str() {
                                "title" if depth == 4 => text_for = Some(TextFor::Title),
                                "reference" => {
                                    def.references.push((
                                        attr(&e, "source").unwrap_or_default(),
                                        attr(&e, "ref_id").unwrap_or_default(),
                                    ));
                                }
                                "severity" => text_for = Some(TextFor::Severity),
                                "cve" => text_for = Some(TextFor::Cve),
                                "platform" => text_for = Some(TextFor::Platform),
                                "issued" => def.issued = attr(&e, "date"),
                                "updated" => def.updated = attr(&e, "date"),
                                "criteria" => criteria.push(Criteria {
                                    operator: Operator::parse(attr(&e, "operator").as_deref()),
                                    negate: is_true(attr(&e, "negate")),
                                    children: Vec::new(),
                                }),
                                "criterion" => {
                                    if let Some(c) = criteria.last_mut() {
                                        c.children.push(Node::Criterion {
                                            test_ref: attr(&e, "test_ref").unwrap_or_default(),
                                            negate: is_true(attr(&e, "negate")),
                                        });
                                    }
                                }
                                "extend_definition" => {
                                    if let Some(c) = criteria.last_mut() {
                                        c.children.push(Node::Extend {
                                            definition_ref: attr(&e, "definition_ref").unwrap_or_default(),
                                            negate: is_true(attr(&e, "negate")),
                                        });
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    Section::Tests | Section::Objects | Section::States if depth == 2 => {
                        let id = attr(&e, "id").unwrap_or_default();
                        item = Some(match section {
                            Section::Tests => Item::Test(Test {
                                id,
                                kind: name.clone(),
                                comment: attr(&e, "comment").unwrap_or_default(),
                                check: attr(&e, "check").unwrap_or_else(|| "all".into()),
                                check_existence: attr(&e, "check_existence")
                                    .unwrap_or_else(|| "at_least_one_exists".into()),
                                state_operator: attr(&e, "state_operator").unwrap_or_else(|| "AND".into()),
                                object_ref: None,
                                state_refs: Vec::new(),
                            }),
                            Section::Objects => Item::Object(Object {
                                id,
                                kind: name.clone(),
                                entities: Vec::new(),
                            }),
                            _ => Item::State(State {
                                id,
                                kind: name.clone(),
                                entities: Vec::new(),
                            }),
                        });
                    }
                    Section::Tests if depth == 3 => {
                        if let Some(Item::Test(t)) = item.as_mut() {
                            match name.as_str() {
                                "object" => t.object_ref = attr(&e, "object_ref"),
                                "state" => t.state_refs.extend(attr(&e, "state_ref")),
                                _ => {}
                            }
                        }
                    }
                    Section::Objects | Section::States if depth == 3 && name != "behaviors" && name != "filter" => {
                        text_for = Some(TextFor::Entity(
                            name.clone(),
                            attr(&e, "operation"),
                            attr(&e, "datatype"),
                            attr(&e, "var_ref"),
                        ));
                    }
                    _ => {}
                }
                if text_for.is_some() {
                    text.clear();
                }
                stack.push(name);
            }
            Event::Text(t) if text_for.is_some() => push_bounded(&mut text, &t.xml10_content()),
            Event::CData(t) if text_for.is_some() => push_bounded(&mut text, &t.xml10_content()),
            Event::GeneralRef(r) if text_for.is_some() => {
                let s = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match r.as_ref() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => format!("&{other};"),
                    },
                };
                push_bounded(&mut text, &s);
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_string();
                stack.pop();
                let depth = stack.len();
                if let Some(tf) = text_for.take() {
                    let value = text.trim().to_string();
                    match tf {
                        TextFor::Timestamp => doc.timestamp = Some(value),
                        TextFor::Title => {
                            if let Some(d) = definition.as_mut() {
                                d.title = value;
                            }
                        }
                        TextFor::Severity => {
                            if let Some(d) = definition.as_mut() {
                                d.severity = Some(value).filter(|v| !v.is_empty());
                            }
                        }
                        TextFor::Cve => {
                            if let Some(d) = definition.as_mut() {
                                if !value.is_empty() && !d.cves.contains(&value) {
                                    d.cves.push(value);
                                }
                            }
                        }
                        TextFor::Platform => {
                            if let Some(d) = definition.as_mut() {
                                d.platforms.push(value);
                            }
                        }
                        TextFor::Entity(ename, operation, datatype, var_ref) => {
                            let entity = Entity {
                                name: ename,
                                value,
                                operation: operation.unwrap_or_else(|| "equals".into()),
                                datatype,
                                var_ref,
                            };
                            match item.as_mut() {
                                Some(Item::Object(o)) => o.entities.push(entity),
                                Some(Item::State(s)) => s.entities.push(entity),
                                _ => {}
                            }
                        }
                    }
                }
                match section {
                    Section::Definitions if name == "criteria" => {
                        if let Some(done) = criteria.pop() {
                            match criteria.last_mut() {
                                Some(parent) => parent.children.push(Node::Criteria(done)),
                                None => {
                                    if let Some(d) = definition.as_mut() {
                                        d.criteria = Some(done);
                                    }
                                }
                            }
                        }
                    }
                    Section::Definitions if depth == 2 && name == "definition" => {
                        if let Some(d) = definition.take() {
                            doc.definitions.push(d);
                        }
                        criteria.clear();
                    }
                    Section::Tests | Section::Objects | Section::States if depth == 2 => match item.take() {
                        Some(Item::Test(t)) => {
                            doc.tests.insert(t.id.clone(), t);
                        }
                        Some(Item::Object(o)) => {
                            doc.objects.insert(o.id.clone(), o);
                        }
                        Some(Item::State(s)) => {
                            doc.states.insert(s.id.clone(), s);
                        }
                        None => {}
                    },
                    _ => {}
                }
                if depth == 1 {
                    section = Section::None;
                }
                if depth == 0 {
                    return Ok(doc);
                }
            }
            Event::Eof => {
                if !saw_root {
                    return Err("empty document: no <oval_definitions> element".to_string());
                }
                return Err(format!(
                    "truncated: the document ends at line {line} inside <{}>",
                    stack.join("><")
                ));
            }
            _ => {}
        }
        if buf.capacity() > 1 << 20 {
            buf = Vec::new();
        }
    }
}

fn is_true(v: Option<String>) -> bool {
    matches!(v.as_deref(), Some("true") | Some("1"))
}

fn push_bounded(text: &mut String, more: &str) {
    if text.len() + more.len() <= MAX_TEXT {
        text.push_str(more);
    }
}
