//! `coverage.svg`: one row per topic, one cell per "Cover:" point, marked covered, missed,
//! truncated (missed in an answer cut off at the token limit) or not run. Each cell's
//! tooltip names its point; each row links to its chapter.

use std::fmt::Write as _;

use super::book::{Book, Mark};
use super::html::escape;

const CELL: usize = 22;
const GAP: usize = 4;
const LABEL: usize = 300;
const ROW: usize = CELL + GAP;
const TOP: usize = 34;
/// Longest row label, in characters.
const LABEL_CHARS: usize = 40;

/// The map's stylesheet (the HTML page allows exactly this inline style).
pub const STYLE: &str = ".covered{fill:#2e7d32}.missed{fill:#c62828}.truncated{fill:#ef8f00}\
.not-run{fill:none;stroke:#9e9e9e;stroke-dasharray:3 2}\
.mark{fill:#fff;font-size:13px;font-weight:bold;text-anchor:middle;pointer-events:none}\
.label,.count,.head{fill:currentColor}.head{font-weight:bold}";

/// The map as a standalone SVG document; chapter links point into `handbook` (e.g.
/// `handbook.html`, or `""` when the map is embedded in it).
pub fn render(book: &Book, handbook: &str) -> String {
    let columns = book.chapters.iter().map(|c| c.points.len()).max().unwrap_or(0).max(1);
    let width = LABEL + columns * (CELL + GAP) + 70;
    let height = TOP + book.chapters.len().max(1) * ROW + 44;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" class=\"coverage-map\" \
         font-family=\"system-ui, sans-serif\" font-size=\"13\">\n\
         <title>Coverage of the guide's Cover: points, one row per topic</title>\n\
         <style>{STYLE}</style>\n"
    );
    let _ = writeln!(
        out,
        "<text class=\"head\" x=\"0\" y=\"18\">Topic</text>\
         <text class=\"head\" x=\"{LABEL}\" y=\"18\">Cover: points</text>"
    );
    for (row, chapter) in book.chapters.iter().enumerate() {
        let y = TOP + row * ROW;
        let label = shorten(&chapter.heading(), LABEL_CHARS);
        let _ = writeln!(
            out,
            "<a href=\"{}#{}\"><text class=\"label\" x=\"0\" y=\"{}\">{}</text></a>",
            escape(handbook),
            escape(&chapter.anchor()),
            y + 16,
            escape(&label)
        );
        for (column, point) in chapter.points.iter().enumerate() {
            let x = LABEL + column * (CELL + GAP);
            let (class, glyph, word) = match point.mark {
                Mark::Covered => ("covered", "✓", "covered"),
                Mark::Missed => ("missed", "✗", "missed"),
                Mark::Truncated => ("truncated", "…", "missed, answer cut off"),
                Mark::NotRun => ("not-run", "", "not run"),
            };
            let _ = writeln!(
                out,
                "<g class=\"cell {class}\"><title>{}: {word}</title>\
                 <rect class=\"{class}\" x=\"{x}\" y=\"{y}\" width=\"{CELL}\" height=\"{CELL}\" rx=\"3\"/>\
                 <text class=\"mark\" x=\"{}\" y=\"{}\">{glyph}</text></g>",
                escape(&point.point),
                x + CELL / 2,
                y + 16
            );
        }
        let count = match (chapter.points.len(), chapter.stub.is_some()) {
            (0, _) => "–".to_string(),
            (_, true) => "not run".to_string(),
            (total, false) => format!("{}/{total}", chapter.covered()),
        };
        let _ = writeln!(
            out,
            "<text class=\"count\" x=\"{}\" y=\"{}\">{count}</text>",
            LABEL + columns * (CELL + GAP) + 6,
            y + 16
        );
    }
    let legend_y = TOP + book.chapters.len().max(1) * ROW + 16;
    let mut x = 0;
    for (class, glyph, word) in [
        ("covered", "✓", "covered"),
        ("missed", "✗", "missed"),
        ("truncated", "…", "missed, answer cut off"),
        ("not-run", "", "not run"),
    ] {
        let _ = writeln!(
            out,
            "<rect class=\"{class}\" x=\"{x}\" y=\"{legend_y}\" width=\"{CELL}\" height=\"{CELL}\" rx=\"3\"/>\
             <text class=\"mark\" x=\"{}\" y=\"{}\">{glyph}</text>\
             <text class=\"label\" x=\"{}\" y=\"{}\">{word}</text>",
            x + CELL / 2,
            legend_y + 16,
            x + CELL + 6,
            legend_y + 16
        );
        x += CELL + 12 + word.len() * 8;
    }
    out.push_str("</svg>\n");
    out
}

/// `text` cut to `max` characters at most, with "…".
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}
