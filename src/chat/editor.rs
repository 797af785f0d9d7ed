//! `/edit`: write a long question in the user's editor.

use std::process::Command;

use crate::exit::Failure;

/// Opens `$VISUAL`, `$EDITOR` or `vi` on an empty temporary file and returns what was
/// written, or `None` when the file was left empty (nothing to send).
pub fn compose() -> Result<Option<String>, Failure> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    let file = tempfile::Builder::new()
        .prefix("deepdive-question-")
        .suffix(".md")
        .tempfile()
        .map_err(|e| Failure::work(format!("cannot create a file for the editor: {e}")))?;
    // Through the shell, so an editor given with arguments ("code --wait") works.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .map_err(|e| Failure::work(format!("cannot start the editor `{editor}`: {e}")))?;
    if !status.success() {
        return Err(Failure::work(format!(
            "the editor `{editor}` exited with {status}; nothing was sent"
        )));
    }
    let text = std::fs::read_to_string(file.path())
        .map_err(|e| Failure::work(format!("cannot read what the editor wrote: {e}")))?;
    let text = text.trim().to_string();
    Ok((!text.is_empty()).then_some(text))
}
