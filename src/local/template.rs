//! The chat template stored in a GGUF file (`tokenizer.chat_template`), rendered with
//! minijinja in Python-compatible mode.

use candle_core::quantized::gguf_file::Content;
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Error, ErrorKind, Value};

use crate::message::Message;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the model file has no chat template; use an instruct/chat GGUF model")]
    Missing,
    #[error("the model file's chat template cannot be used ({0}); use another GGUF model")]
    Invalid(String),
    #[error("rendering the chat template failed ({0})")]
    Render(String),
}

pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    pub fn from_gguf(content: &Content) -> Result<Self, TemplateError> {
        let text = |key: &str| {
            content.metadata.get(key).and_then(|v| v.to_string().ok()).map(|s| s.to_string())
        };
        let source = text("tokenizer.chat_template").ok_or(TemplateError::Missing)?;
        let token = |key: &str| {
            let tokens = content.metadata.get("tokenizer.ggml.tokens")?.to_vec().ok()?;
            let id = content.metadata.get(key)?.to_u32().ok()?;
            tokens.get(id as usize)?.to_string().ok().cloned()
        };
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| TemplateError::Invalid(e.to_string()))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> Result<Value, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_template_owned("chat", source)
            .map_err(|e| TemplateError::Invalid(e.to_string()))?;
        Ok(ChatTemplate {
            env,
            bos: token("tokenizer.ggml.bos_token_id").unwrap_or_default(),
            eos: token("tokenizer.ggml.eos_token_id").unwrap_or_default(),
        })
    }

    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| minijinja::context! { role => m.role.as_str(), content => m.content.as_str() })
            .collect();
        let template =
            self.env.get_template("chat").map_err(|e| TemplateError::Render(e.to_string()))?;
        template
            .render(minijinja::context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos.as_str(),
                eos_token => self.eos.as_str(),
            })
            .map_err(|e| TemplateError::Render(e.to_string()))
    }
}
