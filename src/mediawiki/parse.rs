//! A revision as the wiki renders it (`action=parse` with `oldid`): the
//! HTML of its text, its display title and its categories. Asked by
//! revision, never by title, so that the rendering belongs to the
//! revision it is kept with.

use serde_json::Value;

use super::client::{Method, Wiki};
use super::error::{ApiCode, MwError, MwResult};

/// One revision rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub rev_id: u64,
    /// The HTML of the text (`mw-parser-output`), without edit section links.
    pub html: String,
    /// The display title, as HTML (the wiki's own `DISPLAYTITLE`).
    pub display_title: String,
    /// Category names, without the namespace, hidden ones included.
    pub categories: Vec<String>,
}

/// Reads an `action=parse` answer (`formatversion=2`). Pure.
pub fn read_parse(v: &Value) -> Option<Parsed> {
    let p = v.get("parse")?;
    Some(Parsed {
        rev_id: p.get("revid")?.as_u64()?,
        html: p.get("text")?.as_str()?.to_string(),
        display_title: p.get("displaytitle").and_then(Value::as_str).or_else(|| p.get("title").and_then(Value::as_str))?.to_string(),
        categories: p
            .get("categories")
            .and_then(Value::as_array)
            .map(|cs| cs.iter().filter_map(|c| c.get("category").and_then(Value::as_str)).map(|c| c.replace('_', " ")).collect())
            .unwrap_or_default(),
    })
}

impl Wiki {
    /// Renders revision `revid` of [[title]] (named in errors). `None`
    /// when the wiki no longer shows the revision (deleted or hidden
    /// since): the page's next pull brings what it has instead.
    pub async fn parse(&self, revid: u64, title: &str) -> MwResult<Option<Parsed>> {
        let params = [
            ("oldid", revid.to_string()),
            ("prop", "text|displaytitle|categories".to_string()),
            ("disableeditsection", "1".into()),
            ("disablelimitreport", "1".into()),
        ];
        match self.call(Method::Get, "parse", &params, Some(title), false).await {
            Ok(v) if super::types::api_error(&v).is_none() => read_parse(&v).map(Some).ok_or_else(|| self.not_api_json(&v)),
            Ok(v) => match self.api_err("parse", Some(title), &v) {
                MwError::Api { code: ApiCode::NoSuchRevid | ApiCode::PermissionDenied | ApiCode::MissingTitle, .. } => Ok(None),
                e => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
