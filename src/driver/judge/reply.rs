//! Reading the judge's reply: JSON (in a code fence or not), one verdict for every point,
//! exactly once. Anything else is an error that says what was wrong, for the entry's note.

use serde_json::Value;

use crate::coverage::Graded;

/// Longest part of a reply quoted in an error.
const SHOWN_CHARS: usize = 60;

/// The verdicts of a reply on `points` points, in point order.
pub fn parse(reply: &str, points: usize) -> Result<Vec<Graded>, String> {
    let json = json_text(reply);
    if json.is_empty() {
        return Err("the judge's reply was empty".to_string());
    }
    let value: Value = serde_json::from_str(json)
        .map_err(|_| format!("the judge's reply is not JSON (“{}”)", shown(reply)))?;
    let items = match &value {
        Value::Array(items) => items,
        Value::Object(object) => match object.get("verdicts") {
            Some(Value::Array(items)) => items,
            _ => return Err("the judge's reply has no list of verdicts".to_string()),
        },
        _ => {
            return Err(format!("the judge's reply is not a list of verdicts (“{}”)", shown(json)));
        }
    };
    let mut graded: Vec<Option<Graded>> = vec![None; points];
    for item in items {
        let number = item.get("point").and_then(point_number).ok_or_else(|| {
            format!(
                "a verdict in the judge's reply names no point number (“{}”)",
                shown(&item.to_string())
            )
        })?;
        let slot = number
            .checked_sub(1)
            .and_then(|i| graded.get_mut(i))
            .ok_or_else(|| format!("the judge graded point {number}, and there are {points}"))?;
        if slot.is_some() {
            return Err(format!("the judge graded point {number} twice"));
        }
        let covered = item
            .get("covered")
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("the judge's verdict on point {number} is not true or false"))?;
        let quote = match item.get("quote") {
            None | Some(Value::Null) => None,
            Some(Value::String(quote)) => Some(quote.clone()),
            Some(_) => return Err(format!("the judge's quote for point {number} is not text")),
        };
        *slot = Some(Graded { covered, quote });
    }
    let missing: Vec<String> = graded
        .iter()
        .enumerate()
        .filter(|(_, g)| g.is_none())
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    if !missing.is_empty() {
        let which = if missing.len() == 1 { "point" } else { "points" };
        return Err(format!("the judge's reply has no verdict on {which} {}", missing.join(", ")));
    }
    Ok(graded.into_iter().flatten().collect())
}

/// The JSON in a reply: inside a code fence when there is one, else from the first `{` or
/// `[` to the last `}` or `]` (a model that wrote a sentence around it).
fn json_text(reply: &str) -> &str {
    let reply = reply.trim();
    if let Some(start) = reply.find("```") {
        let fenced = &reply[start + 3..];
        let body = fenced.find('\n').map_or("", |i| &fenced[i + 1..]);
        let body = body.find("```").map_or(body, |end| &body[..end]);
        return body.trim();
    }
    let start = reply.find(['{', '[']);
    let end = reply.rfind(['}', ']']);
    match (start, end) {
        (Some(start), Some(end)) if start < end => &reply[start..=end],
        _ => reply,
    }
}

/// A point number: an integer, or a string holding one ("3").
fn point_number(value: &Value) -> Option<usize> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The start of `text` on one line, for an error.
fn shown(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= SHOWN_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(SHOWN_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(graded: &[Graded]) -> Vec<bool> {
        graded.iter().map(|g| g.covered).collect()
    }

    #[test]
    fn plain_fenced_and_wrapped_json_all_read() {
        let plain = r#"{"verdicts":[{"point":2,"covered":false,"quote":""},{"point":1,"covered":true,"quote":"a b c"}]}"#;
        let graded = parse(plain, 2).unwrap();
        assert_eq!(covered(&graded), [true, false]);
        assert_eq!(graded[0].quote.as_deref(), Some("a b c"));
        let fenced = format!("```json\n{plain}\n```");
        assert_eq!(parse(&fenced, 2).unwrap(), graded);
        let wrapped = format!("Here are the verdicts:\n{plain}\nI hope this helps.");
        assert_eq!(parse(&wrapped, 2).unwrap(), graded);
        let bare = r#"[{"point":"1","covered":true,"quote":null},{"point":2,"covered":true}]"#;
        let graded = parse(bare, 2).unwrap();
        assert_eq!(covered(&graded), [true, true]);
        assert_eq!(graded[0].quote, None);
    }

    #[test]
    fn replies_that_are_not_verdicts_say_what_is_wrong() {
        let cases = [
            ("", "was empty"),
            (
                "I'm sorry, but I can't help with that.",
                "not JSON (“I'm sorry, but I can't help with that.”)",
            ),
            ("{\"verdicts\": [{\"point\": 1, \"covered\": tru", "not JSON"),
            ("{\"result\": \"fine\"}", "no list of verdicts"),
            ("\"fine\"", "not a list of verdicts"),
            (r#"[{"covered":true}]"#, "names no point number"),
            (r#"[{"point":3,"covered":true}]"#, "graded point 3, and there are 2"),
            (r#"[{"point":0,"covered":true}]"#, "graded point 0"),
            (r#"[{"point":1,"covered":true},{"point":1,"covered":false}]"#, "point 1 twice"),
            (r#"[{"point":1,"covered":"yes"}]"#, "not true or false"),
            (r#"[{"point":1,"covered":true,"quote":7}]"#, "not text"),
            (r#"[{"point":2,"covered":true}]"#, "no verdict on point 1"),
            (r#"{"verdicts":[]}"#, "no verdict on points 1, 2"),
        ];
        for (reply, needle) in cases {
            let err = parse(reply, 2).unwrap_err();
            assert!(err.contains(needle), "{reply}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let long = format!("Sorry. {}", "no ".repeat(100));
        assert!(parse(&long, 2).unwrap_err().chars().count() < 120);
    }
}
