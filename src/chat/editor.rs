//! `/edit`: write a long question in the user's editor.

/// Opens `$VISUAL`, `$EDITOR` or `vi` on an empty temporary file and returns what was
/// written, or `None` when the file was left empty (nothing to send). The error is a
/// one-line warning: a failed editor never ends the session.
///
/// The editor runs as a child the runtime waits on, so the session's Ctrl-C listener keeps
/// running: a Ctrl-C meant for the editor is seen and settled before anything is sent.
pub async fn compose() -> Result<Option<String>, String> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    let file = tempfile::Builder::new()
        .prefix("deepdive-question-")
        .suffix(".md")
        .tempfile()
        .map_err(|e| format!("cannot create a file for the editor: {e}"))?;
    // Through the shell, so an editor given with arguments ("code --wait") works.
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .await
        .map_err(|e| format!("cannot start the editor `{editor}`: {e}"))?;
    if !status.success() {
        return Err(format!("the editor `{editor}` exited with {status}; nothing was sent"));
    }
    let text = tokio::fs::read_to_string(file.path())
        .await
        .map_err(|e| format!("cannot read what the editor wrote: {e}"))?;
    let text = text.trim().to_string();
    Ok((!text.is_empty()).then_some(text))
}
