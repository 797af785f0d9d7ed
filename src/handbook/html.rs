//! `handbook.html`: one self-contained page (no network, no external assets) with a side
//! table of contents, a search box that filters sections as you type, light and dark themes
//! and a print layout. Markdown is rendered by pulldown-cmark; model text is untrusted, so
//! raw HTML in it is shown as text, links and images may only be http(s), mailto or
//! relative, images become links (loading one would be network), and a Content Security
//! Policy lets only this page's own script and styles run.

use std::fmt::Write as _;

use base64::Engine as _;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, Parser, Tag, TagEnd};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::book::Book;
use super::markdown::{self, Section};

const STYLE: &str = include_str!("assets/handbook.css");
const SCRIPT: &str = include_str!("assets/handbook.js");

/// The whole page; `svg` is the coverage map, embedded in its appendix.
pub fn document(book: &Book, sections: &[Section], svg: &str) -> String {
    let title = markdown::title(book);
    let mut out = String::with_capacity(sections.iter().map(|s| s.body.len()).sum::<usize>() * 2);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src {} {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"generator\" content=\"deepdive\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n",
        hash(STYLE),
        hash(super::svg::STYLE),
        hash(SCRIPT),
        escape(&title)
    );
    nav(&mut out, sections);
    let _ = write!(
        out,
        "<main>\n<header id=\"top\">\n<h1>{}</h1>\n{}<section class=\"intro\" \
         aria-label=\"How to use this handbook\">\n<h2>How to use this handbook</h2>\n{}</section>\n\
         </header>\n",
        escape(&title),
        render(&markdown::byline(book)),
        render(&markdown::how_to_use(book))
    );
    // Rendering is per section, so each core takes some.
    let bodies: Vec<String> = sections.par_iter().map(|s| render(&s.body)).collect();
    for (section, body) in sections.iter().zip(bodies) {
        let class = if section.state.is_some() { "chapter" } else { "appendix" };
        let state = section.state.map(|s| format!(" data-status=\"{s}\"")).unwrap_or_default();
        let _ = write!(
            out,
            "<section id=\"{}\" class=\"{class}\"{state}>\n<h2>{}</h2>\n{}",
            escape(&section.id),
            escape(&section.heading),
            body
        );
        if section.figure {
            let _ = writeln!(out, "<figure class=\"map\">{svg}</figure>");
        }
        out.push_str("</section>\n");
    }
    let _ = write!(out, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn nav(out: &mut String, sections: &[Section]) {
    out.push_str(
        "<nav id=\"toc\" aria-label=\"Contents\">\n<div class=\"toolbar\">\
         <input id=\"search\" type=\"search\" placeholder=\"Search (press /)\" \
         aria-label=\"Search the handbook\" autocomplete=\"off\">\
         <button id=\"theme\" type=\"button\" title=\"Switch between light and dark\" \
         aria-label=\"Switch between light and dark\">◐</button></div>\n\
         <p id=\"search-count\" role=\"status\"></p>\n<ol>\n",
    );
    for section in sections {
        let badge = match section.state {
            Some("complete") | None => String::new(),
            Some(state) => {
                format!(" <span class=\"badge {}\">{state}</span>", state.replace(' ', "-"))
            }
        };
        let _ = writeln!(
            out,
            "<li><a href=\"#{}\">{}</a>{badge}</li>",
            escape(&section.id),
            escape(&section.heading)
        );
    }
    out.push_str("</ol>\n</nav>\n");
}

/// `'sha256-…'`: the CSP source that allows exactly this inline script or style.
fn hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// Markdown to HTML, with every piece of raw HTML shown as text and unsafe URLs dropped.
pub fn render(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut out, Sanitized::new(markdown));
    out
}

/// The events of a markdown text, made safe to render.
struct Sanitized<'a> {
    parser: Parser<'a>,
    /// For each open link or image: whether its start was kept (its end must match).
    kept: Vec<bool>,
}

impl<'a> Sanitized<'a> {
    fn new(markdown: &'a str) -> Self {
        Sanitized { parser: Parser::new_ext(markdown, super::OPTIONS), kept: Vec::new() }
    }
}

impl<'a> Iterator for Sanitized<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            let event = self.parser.next()?;
            return Some(match event {
                // A block of raw HTML is shown as code; inline HTML as text.
                Event::Start(Tag::HtmlBlock) => {
                    Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced("html".into())))
                }
                Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::CodeBlock),
                Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
                Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                    let safe = is_safe_url(&dest_url);
                    self.kept.push(safe);
                    if !safe {
                        continue;
                    }
                    Event::Start(Tag::Link { link_type, dest_url, title, id })
                }
                // An image would be fetched: it becomes a link to it, its alt text the label.
                Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                    let safe = is_safe_url(&dest_url);
                    self.kept.push(safe);
                    if !safe {
                        continue;
                    }
                    Event::Start(Tag::Link { link_type, dest_url, title, id })
                }
                Event::End(TagEnd::Link | TagEnd::Image) => match self.kept.pop() {
                    Some(true) => Event::End(TagEnd::Link),
                    _ => continue,
                },
                // Checklists can be ticked off in the page.
                Event::TaskListMarker(checked) => Event::InlineHtml(CowStr::Borrowed(if checked {
                    "<input type=\"checkbox\" checked> "
                } else {
                    "<input type=\"checkbox\"> "
                })),
                other => other,
            });
        }
    }
}

/// Links may go to the web, to a mail address or within the page and its folder; every
/// other scheme (`javascript:`, `data:`, `vbscript:`, `file:` …) is dropped.
fn is_safe_url(url: &str) -> bool {
    let cleaned: String =
        url.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect::<String>();
    let scheme_end = cleaned.find(':');
    let path_start = cleaned.find(['/', '?', '#']);
    match scheme_end {
        Some(end) if path_start.is_none_or(|p| end < p) => {
            let scheme = cleaned[..end].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Text safe inside HTML elements and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = render(
            "Hi <script>alert(1)</script> <img src=x onerror=\"alert(2)\">\n\n<div onclick=\"x()\">\nblock\n</div>\n",
        );
        assert!(
            !html.contains("<script") && !html.contains("<img") && !html.contains("<div"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("<pre><code class=\"language-html\">&lt;div onclick="), "{html}");
    }

    #[test]
    fn unsafe_links_keep_their_text_and_lose_their_target() {
        let html = render(
            "[a](javascript:alert(1)) [b]( JavaScript:x) [c](data:text/html,x) <vbscript:x> \
             [d](https://example.com/a?b) [e](#top) [f](15-x.md)",
        );
        for scheme in ["javascript", "JavaScript", "data", "vbscript"] {
            assert!(!html.contains(&format!("href=\"{scheme}")), "{html}");
        }
        assert!(html.contains("a b c vbscript:x"), "{html}");
        assert!(html.contains("<a href=\"https://example.com/a?b\">d</a>"), "{html}");
        assert!(
            html.contains("<a href=\"#top\">e</a>") && html.contains("<a href=\"15-x.md\">f</a>")
        );
    }

    #[test]
    fn images_become_links_and_are_never_loaded() {
        let html = render(
            "![diagram](https://example.com/d.png) ![x](data:image/svg+xml,<svg onload=alert(1)>)",
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("<a href=\"https://example.com/d.png\">diagram</a>"), "{html}");
    }

    #[test]
    fn gfm_tables_code_and_task_lists_render() {
        let html = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n```yaml\nx: <1>\n```\n\n- [ ] todo\n- [x] done\n",
        );
        assert!(html.contains("<table>") && html.contains("<td>1</td>"), "{html}");
        assert!(html.contains("<code class=\"language-yaml\">x: &lt;1&gt;"), "{html}");
        assert!(html.contains("<input type=\"checkbox\"> todo"), "{html}");
        assert!(html.contains("<input type=\"checkbox\" checked> done"), "{html}");
    }

    #[test]
    fn urls_are_judged_by_their_scheme() {
        assert_eq!(hash(""), "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");
        assert!(is_safe_url("mailto:ops@example.com") && is_safe_url("../a:b/c.md"));
        assert!(!is_safe_url("java\tscript:alert(1)") && !is_safe_url("file:///etc/passwd"));
    }
}
