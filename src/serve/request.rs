//! An OAI-PMH request's arguments, checked as the protocol says (§3.1,
//! §3.6): the verb, the arguments each verb takes (required, optional,
//! exclusive), repeated or unknown ones, and dates. Pure; what it returns
//! is either a request to answer or the error to answer with.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};

/// An OAI-PMH error code and its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaiError {
    pub code: &'static str,
    pub message: String,
}

impl OaiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> OaiError {
        OaiError { code, message: message.into() }
    }

    /// Whether the `<request>` element may echo the arguments: not after
    /// `badVerb` or `badArgument` (§3.2).
    pub fn echoes_arguments(&self) -> bool {
        !matches!(self.code, "badVerb" | "badArgument")
    }
}

/// A list's selection, as given (a resumptionToken carries it on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub prefix: String,
    pub set: Option<String>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    pub until: Option<i64>,
}

/// How a list request starts: afresh, or where a token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum List {
    Fresh(Selection),
    Resume(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Identify,
    ListMetadataFormats { identifier: Option<String> },
    ListSets { token: Option<String> },
    GetRecord { identifier: String, prefix: String },
    ListIdentifiers(List),
    ListRecords(List),
}

/// What a verb takes: (required, optional, exclusive).
fn arguments_of(verb: &str) -> Option<(&'static [&'static str], &'static [&'static str], Option<&'static str>)> {
    Some(match verb {
        "Identify" => (&[], &[], None),
        "ListMetadataFormats" => (&[], &["identifier"], None),
        "ListSets" => (&[], &[], Some("resumptionToken")),
        "GetRecord" => (&["identifier", "metadataPrefix"], &[], None),
        "ListIdentifiers" | "ListRecords" => (&["metadataPrefix"], &["from", "until", "set"], Some("resumptionToken")),
        _ => return None,
    })
}

/// The longest argument value taken: identifiers, sets and tokens are far
/// shorter; a longer one is refused before it is looked at.
pub const MAX_ARGUMENT: usize = 4096;

/// Parses a request's arguments (from the query string or a form body,
/// decoded). Returns the verb's name when there is a valid one, for the
/// `<request>` element, with the request or the error.
pub fn parse(pairs: &[(String, String)]) -> (Option<&'static str>, Result<Request, OaiError>) {
    let verbs: Vec<&str> = pairs.iter().filter(|(k, _)| k == "verb").map(|(_, v)| v.as_str()).collect();
    let verb = match verbs.as_slice() {
        [] => return (None, Err(OaiError::new("badVerb", "the verb argument is missing"))),
        [_, _, ..] => return (None, Err(OaiError::new("badVerb", "the verb argument is repeated"))),
        [one] => *one,
    };
    let Some((required, optional, exclusive)) = arguments_of(verb) else {
        return (None, Err(OaiError::new("badVerb", format!("{} is not an OAI-PMH verb", shorten(verb)))));
    };
    let verb: &'static str = ["Identify", "ListMetadataFormats", "ListSets", "GetRecord", "ListIdentifiers", "ListRecords"]
        .into_iter()
        .find(|v| *v == verb)
        .expect("a verb arguments_of knows");
    (Some(verb), parse_arguments(verb, pairs, required, optional, exclusive))
}

fn parse_arguments(verb: &'static str, pairs: &[(String, String)], required: &[&str], optional: &[&str], exclusive: Option<&str>) -> Result<Request, OaiError> {
    let mut args: Vec<(&str, &str)> = Vec::new();
    for (k, v) in pairs.iter().filter(|(k, _)| k != "verb") {
        let known = required.contains(&k.as_str()) || optional.contains(&k.as_str()) || exclusive == Some(k.as_str());
        if !known {
            return Err(OaiError::new("badArgument", format!("{verb} takes no argument {}", shorten(k))));
        }
        if args.iter().any(|(seen, _)| seen == k) {
            return Err(OaiError::new("badArgument", format!("the argument {k} is repeated")));
        }
        if v.len() > MAX_ARGUMENT {
            return Err(OaiError::new("badArgument", format!("the argument {k} is longer than {MAX_ARGUMENT} bytes")));
        }
        // What XML cannot hold cannot be an identifier, set or token here.
        if v.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r') || matches!(c, '\u{FFFE}' | '\u{FFFF}')) {
            return Err(OaiError::new("badArgument", format!("the argument {k} holds a control character")));
        }
        let spec_char = |c: char| c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c);
        let legal = match k.as_str() {
            "metadataPrefix" => !v.is_empty() && v.chars().all(spec_char),
            "set" => !v.is_empty() && v.split(':').all(|part| !part.is_empty() && part.chars().all(spec_char)),
            _ => true,
        };
        if !legal {
            return Err(OaiError::new("badArgument", format!("the argument {k} is not a legal {k} (letters, digits and -_.!~*'(); sets separated by :)")));
        }
        args.push((k.as_str(), v.as_str()));
    }
    let get = |name: &str| args.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    if let Some(token_name) = exclusive
        && let Some(token) = get(token_name)
    {
        if args.len() > 1 {
            return Err(OaiError::new("badArgument", "resumptionToken is exclusive: no other argument may go with it"));
        }
        return Ok(match verb {
            "ListSets" => Request::ListSets { token: Some(token) },
            "ListIdentifiers" => Request::ListIdentifiers(List::Resume(token)),
            _ => Request::ListRecords(List::Resume(token)),
        });
    }
    if let Some(missing) = required.iter().find(|r| get(r).is_none_or(|v| v.is_empty())) {
        return Err(OaiError::new("badArgument", format!("{verb} needs the argument {missing}")));
    }
    Ok(match verb {
        "Identify" => Request::Identify,
        "ListMetadataFormats" => Request::ListMetadataFormats { identifier: get("identifier") },
        "ListSets" => Request::ListSets { token: None },
        "GetRecord" => Request::GetRecord { identifier: get("identifier").unwrap_or_default(), prefix: get("metadataPrefix").unwrap_or_default() },
        _ => {
            let from = get("from").map(|d| date("from", &d)).transpose()?;
            let until = get("until").map(|d| date("until", &d)).transpose()?;
            if let (Some((f, fg)), Some((u, ug))) = (&from, &until) {
                if fg != ug {
                    return Err(OaiError::new("badArgument", "from and until have different granularities"));
                }
                if f > u {
                    return Err(OaiError::new("badArgument", "from is later than until"));
                }
            }
            let selection = Selection {
                prefix: get("metadataPrefix").unwrap_or_default(),
                set: get("set").filter(|s| !s.is_empty()),
                from: from.map(|(t, _)| t),
                // A day as `until` is the whole day.
                until: until.map(|(t, day)| if day { t + 86_399 } else { t }),
            };
            if verb == "ListIdentifiers" { Request::ListIdentifiers(List::Fresh(selection)) } else { Request::ListRecords(List::Fresh(selection)) }
        }
    })
}

/// A `from`/`until` value: `YYYY-MM-DD` (day: true) or
/// `YYYY-MM-DDThh:mm:ssZ`, as Unix seconds. Anything else is badArgument.
fn date(name: &str, text: &str) -> Result<(i64, bool), OaiError> {
    let bad = || OaiError::new("badArgument", format!("{name} is not a date of this repository's granularity (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)"));
    // Year 0 and leap seconds (`23:59:60`) parse, but are no datestamp the
    // protocol's schema takes: echoed back, they would make the answer invalid.
    if text.len() == 10 {
        let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())?;
        if d.year() < 1 {
            return Err(bad());
        }
        return Ok((Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).ok_or_else(bad)?).timestamp(), true));
    }
    if text.len() == 20 && text.ends_with('Z') {
        let t = DateTime::parse_from_rfc3339(text).map_err(|_| bad())?;
        if t.year() < 1 || t.nanosecond() >= 1_000_000_000 {
            return Err(bad());
        }
        return Ok((t.timestamp(), false));
    }
    Err(bad())
}

/// A value as shown in an error message: bounded, whatever was sent.
fn shorten(text: &str) -> String {
    let mut cut = text.len().min(64);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    if cut < text.len() { format!("{:?}…", &text[..cut]) } else { format!("{text:?}") }
}

#[cfg(test)]
mod tests;
