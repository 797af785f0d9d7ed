//! Checklist items in an answer: the items of lists under a heading or lead-in that names a
//! checklist ("## Implementation checklist", "Use this checklist before go-live:"), and
//! task-list items (`- [ ] …`) wherever they are.

use std::collections::HashSet;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// The checklist items of `answer`, in order, as inline markdown on one line.
pub fn items(answer: &str) -> Vec<String> {
    let mut scan = Scan::default();
    for event in Parser::new_ext(answer, super::OPTIONS) {
        scan.event(event);
    }
    scan.found
}

/// Items without repeats: the same words, ignoring case, spacing, markup and closing
/// punctuation, count once (the first wording is kept).
pub fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items.into_iter().filter(|item| seen.insert(key(item))).collect()
}

fn key(item: &str) -> String {
    let words: Vec<String> = item
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.join(" ")
}

fn names_checklist(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("checklist") || lower.contains("check list")
}

#[derive(Default)]
struct Scan {
    /// Level of the heading that names a checklist, while its section lasts.
    checklist_heading: Option<pulldown_cmark::HeadingLevel>,
    /// The text of the heading or paragraph being read outside any list item.
    block_text: Option<String>,
    /// The last block outside lists named a checklist and nothing came between it and now.
    lead_in: bool,
    /// For each open list: whether its items are checklist items.
    lists: Vec<bool>,
    /// Open items, innermost last.
    open: Vec<Item>,
    /// Open blocks whose text is not an item's (code, table cells, quotes inside items).
    skip: usize,
    found: Vec<String>,
}

#[derive(Default)]
struct Item {
    text: String,
    task: bool,
}

impl Scan {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                if self.checklist_heading.is_some_and(|open| level <= open) {
                    self.checklist_heading = None;
                }
                self.block_text = Some(String::new());
            }
            Event::End(TagEnd::Heading(level)) => {
                if self.block_text.take().is_some_and(|t| names_checklist(&t)) {
                    self.checklist_heading = Some(level);
                }
                self.lead_in = false;
            }
            Event::Start(Tag::Paragraph) if self.open.is_empty() => {
                self.block_text = Some(String::new());
            }
            Event::End(TagEnd::Paragraph) if self.open.is_empty() => {
                self.lead_in = self.block_text.take().is_some_and(|t| names_checklist(&t));
            }
            Event::Start(Tag::List(_)) => {
                let checklist = self.checklist_heading.is_some()
                    || self.lead_in
                    || self.lists.last().copied().unwrap_or(false)
                    || self.open.last().is_some_and(|item| names_checklist(&item.text));
                self.lists.push(checklist);
                self.lead_in = false;
            }
            Event::End(TagEnd::List(_)) => {
                self.lists.pop();
            }
            Event::Start(Tag::Item) => self.open.push(Item::default()),
            Event::End(TagEnd::Item) => {
                if let Some(item) = self.open.pop() {
                    let text = item.text.split_whitespace().collect::<Vec<_>>().join(" ");
                    let text = text.trim_end_matches(':').trim().to_string();
                    if !text.is_empty() && (item.task || self.lists.last() == Some(&true)) {
                        self.found.push(text);
                    }
                }
            }
            Event::TaskListMarker(_) => {
                if let Some(item) = self.open.last_mut() {
                    item.task = true;
                }
            }
            Event::Start(Tag::CodeBlock(_) | Tag::Table(_) | Tag::BlockQuote(_)) => {
                self.skip += 1;
                if self.open.is_empty() {
                    self.lead_in = false;
                }
            }
            Event::End(TagEnd::CodeBlock | TagEnd::Table | TagEnd::BlockQuote(_)) => {
                self.skip = self.skip.saturating_sub(1);
            }
            Event::Text(text) | Event::InlineHtml(text) => {
                self.text(&super::markdown::escape_inline(&text), &text)
            }
            Event::Code(code) => self.text(&code_span(&code), &code),
            Event::SoftBreak | Event::HardBreak => self.text(" ", " "),
            Event::Start(Tag::Strong) | Event::End(TagEnd::Strong) => self.text("**", ""),
            _ => {}
        }
    }

    /// Adds text: `markdown` to an item (items are written back as markdown), `plain` to a
    /// heading or paragraph (read for the word "checklist").
    fn text(&mut self, markdown: &str, plain: &str) {
        if self.skip > 0 {
            return;
        }
        if let Some(item) = self.open.last_mut() {
            item.text.push_str(markdown);
        } else if let Some(block) = &mut self.block_text {
            block.push_str(plain);
        }
    }
}

/// `code` as a code span, fenced by more backticks than it contains in a row.
fn code_span(code: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if code.starts_with('`') || code.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{code}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_under_a_checklist_heading_count_until_the_section_ends() {
        let answer = "## Readiness checklist\n\n- Probes defined\n- Timeouts set\n\n### Details\n\n- nested section item\n\n## Next\n\n- not an item\n";
        assert_eq!(items(answer), ["Probes defined", "Timeouts set", "nested section item"]);
    }

    #[test]
    fn a_lead_in_paragraph_names_the_list_that_follows() {
        let answer = "Use this checklist before go-live:\n\n1. `readinessProbe` set\n2. **Alerts** wired\n\nOther text.\n\n- plain list\n";
        assert_eq!(items(answer), ["`readinessProbe` set", "**Alerts** wired"]);
    }

    #[test]
    fn task_items_count_anywhere_and_nested_lists_under_a_named_item() {
        let answer = "- [ ] Drain connections\n- [x] Set grace period\n- Plain\n\n- Deploy checklist:\n  - Tag the image\n  - Run smoke tests\n";
        assert_eq!(
            items(answer),
            ["Drain connections", "Set grace period", "Tag the image", "Run smoke tests"]
        );
    }

    #[test]
    fn code_inside_an_item_is_not_its_text_and_markup_is_escaped() {
        let answer = "## Checklist\n\n- Set *limits* <b>now</b>\n\n  ```yaml\n  x: 1\n  ```\n";
        assert_eq!(items(answer), [r"Set limits \<b\>now\</b\>"]);
    }

    #[test]
    fn duplicates_are_removed_by_their_words() {
        let list = ["Probes defined.", "probes  defined", "Timeouts set"].map(String::from);
        assert_eq!(dedup(list), ["Probes defined.", "Timeouts set"]);
    }
}
