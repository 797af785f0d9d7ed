//! A GGUF chat model loaded into memory and run on the CPU: chat template in, streamed text
//! out, with the KV cache of the last conversation kept for the next turn.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use candle_core::Device;
use candle_core::quantized::gguf_file::Content;
use candle_transformers::generation::{LogitsProcessor, Sampling};

use super::counter::PromptCounter;
use super::error::{LocalError, one_line};
use super::transformer::{Family, KvCache, Transformer};
use crate::message::{FinishReason, Message, Usage};

/// The answer length when the request sets none (still capped by the context).
pub const DEFAULT_MAX_TOKENS: u32 = 2_048;

/// Prompt tokens fed per forward pass, in chunks that start at multiples of this position
/// (0, 64, 128, ...). The cancel flag is checked between chunks, so this bounds how long a
/// cancel waits during a long prompt (~0.5 s for a 1.5B model on 2 cores).
///
/// The alignment is what makes greedy answers independent of the cache: the keys and values
/// of a position come out of candle's kernels a rounding error apart depending on the shape
/// of the pass that computed them (a 64-token chunk, a 17-token tail, one generated token).
/// So only whole aligned chunks are reused ([`CachedTokens::reusable`]): a prompt processed
/// on a warm cache performs exactly the passes, on exactly the shapes, that it performs on
/// an empty one. The one exception is a follow-up: a prompt that goes on past the last
/// prompt into the answer just generated reuses that answer's keys as they were generated,
/// so that a follow-up processes only its new turn (as llama.cpp's server does); its greedy
/// answer may then differ, at a near-tie, from the same conversation computed afresh.
const PREFILL_CHUNK: usize = 64;

/// The `finish` of the partial [`Generation`] in [`LocalError::Cancelled`].
pub const CANCELLED: &str = "cancelled";

/// How to sample an answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenParams {
    /// `None`: [`DEFAULT_MAX_TOKENS`]. Never more than the context leaves after the prompt.
    pub max_tokens: Option<u32>,
    /// `None` or 0: greedy (the most likely token each time, deterministic).
    pub temperature: Option<f32>,
    /// Seeds the sampler when `temperature` is above 0.
    pub seed: u64,
}

/// A finished answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generation {
    /// Exactly the concatenation of the pieces passed to `on_text`.
    pub text: String,
    /// `Stop` at an end-of-turn token, `Length` at `max_tokens` or the end of the context.
    pub finish: FinishReason,
    /// `prompt_tokens`: tokens of the rendered chat template. `completion_tokens`: tokens
    /// sampled, including the end-of-turn token when there was one. `cached_tokens`: prompt
    /// tokens whose keys and values came from the cache (as `cached_prompt_tokens`).
    pub usage: Usage,
    /// How many prompt tokens were already in the KV cache from the previous turn.
    pub cached_prompt_tokens: usize,
}

pub struct LocalModel {
    name: String,
    transformer: Transformer,
    counter: PromptCounter,
    /// The one conversation whose KV cache is kept. Held for a whole generation, so two
    /// generations never run at once (each already uses every core).
    state: Mutex<CachedTokens>,
}

/// The tokens fed to the model so far and their keys and values.
struct CachedTokens {
    tokens: Vec<u32>,
    cache: KvCache,
    /// How many leading tokens were computed in whole [`PREFILL_CHUNK`]s at aligned positions
    /// (a multiple of it): the part of the cache a later prompt may reuse.
    aligned: usize,
    /// How many of `tokens` were the last prompt; the rest were generated after it.
    prompt_len: usize,
}

impl CachedTokens {
    fn empty(transformer: &Transformer) -> CachedTokens {
        CachedTokens {
            tokens: Vec::new(),
            cache: transformer.new_cache(),
            aligned: 0,
            prompt_len: 0,
        }
    }

    /// How many tokens of `prompt` can come from the cache, never its last token (whose
    /// logits choose the answer's first token). A follow-up (`prompt` holds the whole last
    /// prompt and goes on: the answer to it, then a new turn) reuses its whole shared prefix,
    /// as much of the answer as re-tokenizes the same included. Any other prompt (the same
    /// request again, another conversation) reuses its shared prefix cut back to the last
    /// whole aligned chunk: the part of the last prompt that did not fill a chunk and every
    /// generated token are computed again, in the chunks an empty cache would use.
    fn reusable(&self, prompt: &[u32]) -> usize {
        let shared = self.tokens.iter().zip(prompt).take_while(|(a, b)| a == b).count();
        let last = prompt.len().saturating_sub(1);
        let follow_up = self.prompt_len > 0 && shared >= self.prompt_len && last >= self.prompt_len;
        if follow_up {
            return shared.min(last);
        }
        let usable = shared.min(self.aligned).min(last);
        usable / PREFILL_CHUNK * PREFILL_CHUNK
    }
}

impl LocalModel {
    /// Reads a GGUF chat model of the Qwen2 or Llama architecture into memory.
    pub fn load(path: &Path) -> Result<LocalModel, LocalError> {
        let gguf_error = |detail: String| LocalError::Gguf { path: path.to_path_buf(), detail };
        let file = File::open(path)
            .map_err(|source| LocalError::Read { path: path.to_path_buf(), source })?;
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader).map_err(|e| gguf_error(one_line(&e)))?;
        let text = |key: &str| {
            content.metadata.get(key).and_then(|v| v.to_string().ok()).map(|s| one_line(s))
        };
        let architecture = text("general.architecture")
            .ok_or_else(|| gguf_error("no `general.architecture` in its metadata".into()))?;
        let family = Family::from_architecture(&architecture)
            .ok_or(LocalError::UnsupportedArchitecture { architecture })?;
        let name = text("general.name")
            .filter(|n| !n.is_empty())
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "local model".to_string());
        let counter = PromptCounter::from_gguf(&content)?;
        let transformer = Transformer::load(family, &content, &mut reader, &Device::Cpu)
            .map_err(|e| gguf_error(one_line(&e)))?;
        let state = Mutex::new(CachedTokens::empty(&transformer));
        Ok(LocalModel { name, transformer, counter, state })
    }

    /// The model's name from its metadata (`general.name`), else the file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Exact token counts with the model's own template and tokenizer.
    pub fn counter(&self) -> &PromptCounter {
        &self.counter
    }

    /// The most tokens (prompt and answer together) one request can use.
    pub fn context_length(&self) -> usize {
        self.transformer.context()
    }

    /// How many tokens the kept KV cache holds (the last conversation's prompt and answer).
    /// Waits for a running generation to finish.
    pub fn cached_tokens(&self) -> usize {
        self.lock_state().tokens.len()
    }

    /// Blocking. Applies the chat template, reuses the KV cache for the whole aligned chunks of
    /// a shared token prefix, or all of it for a follow-up (see [`PREFILL_CHUNK`]: greedy
    /// answers do not depend on what the cache held, but for a follow-up's), streams text
    /// through `on_text`, stops on EOS/max_tokens/`cancel`.
    ///
    /// Waits while another generation runs. `cancel` is checked before every token (and every
    /// 64 prompt tokens); once set, the result is [`LocalError::Cancelled`] with what was
    /// generated until then. A character cut off by the stop is dropped, so the streamed text
    /// never ends in a replacement character.
    pub fn generate(
        &self,
        messages: &[Message],
        params: &GenParams,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, LocalError> {
        let tokens = self.counter.prompt_tokens(messages)?;
        let context = self.transformer.context();
        if tokens.len() >= context {
            return Err(LocalError::ContextFull { prompt_tokens: tokens.len(), context });
        }
        let wanted = params.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS) as usize;
        let budget = wanted.min(context - tokens.len());

        let mut state = self.lock_state();
        let result = self.run(&mut state, &tokens, budget, params, cancel, on_text);
        if let Err(error) = &result {
            if !matches!(error, LocalError::Cancelled { .. }) {
                // The cache may hold half a forward pass: start the next turn from scratch.
                *state = CachedTokens::empty(&self.transformer);
            }
        }
        result
    }

    fn lock_state(&self) -> MutexGuard<'_, CachedTokens> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => {
                // A generation panicked part-way: its cache cannot be trusted.
                self.state.clear_poison();
                let mut state = poisoned.into_inner();
                *state = CachedTokens::empty(&self.transformer);
                state
            }
        }
    }

    fn run(
        &self,
        state: &mut CachedTokens,
        prompt: &[u32],
        budget: usize,
        params: &GenParams,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, LocalError> {
        let cached = state.reusable(prompt);
        state.cache.truncate(cached);
        state.tokens.truncate(cached);
        state.aligned = state.aligned.min(cached);
        state.prompt_len = cached;

        let mut out = Generation {
            text: String::new(),
            finish: FinishReason::Stop,
            usage: Usage {
                prompt_tokens: prompt.len() as u64,
                completion_tokens: 0,
                cached_tokens: cached as u64,
            },
            cached_prompt_tokens: cached,
        };
        if budget == 0 {
            return Ok(Generation { finish: FinishReason::Length, ..out });
        }
        let cancelled = |mut out: Generation| {
            out.finish = FinishReason::Other(CANCELLED.to_string());
            Err(LocalError::Cancelled { partial: Box::new(out) })
        };

        let mut logits = None;
        // Unless this is a follow-up, `cached` is the aligned part, a multiple of the chunk,
        // so these chunks start at aligned positions and each whole one extends that part.
        for chunk in prompt[cached..].chunks(PREFILL_CHUNK) {
            if cancel.load(Ordering::Relaxed) {
                return cancelled(out);
            }
            let at = state.tokens.len();
            logits = Some(self.feed(state, chunk)?);
            state.prompt_len = state.tokens.len();
            if chunk.len() == PREFILL_CHUNK && at == state.aligned {
                state.aligned = state.tokens.len();
            }
        }
        let Some(mut logits) = logits else {
            return Err(LocalError::EmptyPrompt);
        };

        let sampling = match params.temperature {
            Some(t) if t > 0.0 => Sampling::All { temperature: f64::from(t) },
            _ => Sampling::ArgMax,
        };
        let mut sampler = LogitsProcessor::from_sampling(params.seed, sampling);
        let mut decoder = self.counter.tokenizer().decoder();
        let mut emit = |piece: &str, out: &mut Generation| {
            if !piece.is_empty() {
                on_text(piece);
                out.text.push_str(piece);
            }
        };
        let finish = loop {
            if cancel.load(Ordering::Relaxed) {
                break None;
            }
            let token = sampler.sample(&logits).map_err(LocalError::inference)?;
            out.usage.completion_tokens += 1;
            if self.counter.tokenizer().eos_ids().contains(&token) {
                break Some(FinishReason::Stop);
            }
            if let Some(piece) = decoder.push(token)? {
                emit(&piece, &mut out);
            }
            if out.usage.completion_tokens as usize >= budget {
                break Some(FinishReason::Length);
            }
            logits = self.feed(state, &[token])?;
        };
        let rest = decoder.finish()?;
        emit(rest.trim_end_matches('\u{FFFD}'), &mut out);
        match finish {
            Some(finish) => Ok(Generation { finish, ..out }),
            None => cancelled(out),
        }
    }

    /// Runs `tokens` through the model after the cached ones; returns the next token's logits.
    fn feed(
        &self,
        state: &mut CachedTokens,
        tokens: &[u32],
    ) -> Result<candle_core::Tensor, LocalError> {
        let logits =
            self.transformer.forward(tokens, &mut state.cache).map_err(LocalError::inference)?;
        state.tokens.extend_from_slice(tokens);
        Ok(logits)
    }
}
