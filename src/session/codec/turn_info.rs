//! A turn's role and [`TurnInfo`] as marker attributes, and back.

use crate::message::{FinishReason, Role, Usage};
use crate::session::model::{AnswerStatus, Coverage, TurnInfo, TurnKind};

const KNOWN: &[&str] = &[
    "role",
    "kind",
    "status",
    "finish",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "usage",
    "coverage",
    "model",
    "error",
];

/// The attributes to write, in a fixed order; absent information is left out.
pub fn to_attrs(role: Role, info: &TurnInfo) -> Vec<(&'static str, String)> {
    let mut attrs = vec![("role", role.as_str().to_string())];
    if let Some(kind) = &info.kind {
        let kind = match kind {
            TurnKind::Priming => "priming".to_string(),
            TurnKind::Topic(slug) => format!("topic:{slug}"),
            TurnKind::Followup => "followup".to_string(),
        };
        attrs.push(("kind", kind));
    }
    if let Some(status) = info.status {
        attrs.push(("status", status.as_str().to_string()));
    }
    if let Some(finish) = &info.finish_reason {
        attrs.push(("finish", finish.as_str().to_string()));
    }
    if let Some(usage) = info.usage {
        attrs.push(("prompt_tokens", usage.prompt_tokens.to_string()));
        attrs.push(("completion_tokens", usage.completion_tokens.to_string()));
        if usage.cached_tokens > 0 {
            attrs.push(("cached_tokens", usage.cached_tokens.to_string()));
        }
    }
    if info.usage_counted {
        attrs.push(("usage", "counted".to_string()));
    }
    if let Some(c) = info.coverage {
        attrs.push(("coverage", format!("{}/{}", c.covered, c.total)));
    }
    if let Some(model) = &info.model {
        attrs.push(("model", model.clone()));
    }
    if let Some(error) = &info.error {
        attrs.push(("error", error.clone()));
    }
    attrs
}

/// Reads the attributes of an opening marker. The error is a message without a line number.
pub fn from_attrs(attrs: Vec<(&str, String)>) -> Result<(Role, TurnInfo), String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut role = None;
    let mut info = TurnInfo::default();
    let (mut prompt, mut completion, mut cached) = (None, None, 0);
    for (key, value) in attrs {
        if !KNOWN.contains(&key) {
            return Err(format!(
                "unknown attribute `{key}` on a turn marker; remove it (known: {})",
                KNOWN.join(", ")
            ));
        }
        if seen.contains(&key) {
            return Err(format!("attribute `{key}` is given twice; keep one"));
        }
        seen.push(key);
        match key {
            "role" => role = Some(parse_role(&value)?),
            "kind" => info.kind = Some(parse_kind(&value)?),
            "status" => {
                info.status = Some(AnswerStatus::parse(&value).ok_or_else(|| {
                    let all: Vec<&str> = AnswerStatus::ALL.iter().map(|s| s.as_str()).collect();
                    format!("unknown status `{value}`; use one of {}", all.join(", "))
                })?)
            }
            "finish" => info.finish_reason = Some(FinishReason::parse(&value)),
            "prompt_tokens" => prompt = Some(number(key, &value)?),
            "completion_tokens" => completion = Some(number(key, &value)?),
            "cached_tokens" => cached = number(key, &value)?,
            "usage" => {
                info.usage_counted = match value.as_str() {
                    "counted" => true,
                    "server" => false,
                    _ => return Err(format!("unknown usage `{value}`; use counted or server")),
                }
            }
            "coverage" => info.coverage = Some(parse_coverage(&value)?),
            "model" => info.model = Some(value),
            // "error", the last of KNOWN.
            _ => info.error = Some(value),
        }
    }
    info.usage = match (prompt, completion) {
        (Some(prompt_tokens), Some(completion_tokens)) => {
            Some(Usage { prompt_tokens, completion_tokens, cached_tokens: cached })
        }
        (None, None) => None,
        _ => return Err("give both prompt_tokens and completion_tokens, or neither".into()),
    };
    let role = role.ok_or("the turn marker has no `role`; add role=user or role=assistant")?;
    Ok((role, info))
}

fn parse_role(value: &str) -> Result<Role, String> {
    [Role::User, Role::Assistant, Role::System]
        .into_iter()
        .find(|r| r.as_str() == value)
        .ok_or_else(|| format!("unknown role `{value}`; use user, assistant or system"))
}

fn parse_kind(value: &str) -> Result<TurnKind, String> {
    match value {
        "priming" => Ok(TurnKind::Priming),
        "followup" => Ok(TurnKind::Followup),
        _ => match value.strip_prefix("topic:") {
            Some(slug) if !slug.is_empty() => Ok(TurnKind::Topic(slug.to_string())),
            _ => Err(format!("unknown kind `{value}`; use priming, followup or topic:SLUG")),
        },
    }
}

fn number(key: &str, value: &str) -> Result<u64, String> {
    value.parse().map_err(|_| format!("`{key}={value}` is not a whole number; write digits only"))
}

fn parse_coverage(value: &str) -> Result<Coverage, String> {
    let bad = || format!("`coverage={value}` is not COVERED/TOTAL like 6/7");
    let (covered, total) = value.split_once('/').ok_or_else(bad)?;
    let covered: u32 = covered.parse().map_err(|_| bad())?;
    let total: u32 = total.parse().map_err(|_| bad())?;
    if covered > total {
        return Err(format!(
            "`coverage={value}` covers more points than there are; fix the numbers"
        ));
    }
    Ok(Coverage { covered, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_info_round_trips() {
        let info = TurnInfo {
            kind: Some(TurnKind::Topic("health checks".into())),
            status: Some(AnswerStatus::Truncated),
            finish_reason: Some(FinishReason::Length),
            usage: Some(Usage { prompt_tokens: 812, completion_tokens: 640, cached_tokens: 0 }),
            usage_counted: true,
            coverage: Some(Coverage { covered: 6, total: 7 }),
            model: Some("gpt-4o".into()),
            error: Some("HTTP 503 <html> \"busy\" -->".into()),
        };
        let attrs = to_attrs(Role::Assistant, &info);
        let borrowed = attrs.iter().map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(from_attrs(borrowed).unwrap(), (Role::Assistant, info));
    }

    #[test]
    fn rejects_bad_attributes() {
        for (attrs, needle) in [
            (vec![("kind", "priming")], "no `role`"),
            (vec![("role", "robot")], "unknown role"),
            (vec![("role", "user"), ("role", "user")], "twice"),
            (vec![("role", "user"), ("colour", "red")], "unknown attribute"),
            (vec![("role", "user"), ("kind", "topic:")], "unknown kind"),
            (vec![("role", "user"), ("prompt_tokens", "12")], "both"),
            (
                vec![("role", "user"), ("prompt_tokens", "-1"), ("completion_tokens", "1")],
                "whole number",
            ),
            (vec![("role", "user"), ("coverage", "8/7")], "more points"),
            (vec![("role", "user"), ("coverage", "6 of 7")], "COVERED/TOTAL"),
            (vec![("role", "user"), ("status", "done")], "unknown status"),
        ] {
            let attrs = attrs.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            let err = from_attrs(attrs).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}
