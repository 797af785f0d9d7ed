//! Opening what answers requests: the configured HTTP endpoint, or — with no endpoint
//! configured — a GGUF model in this process, pulled from the Hugging Face hub on first use.

use super::Context;
use crate::client::{ChatBackend, ChatClient, Endpoint, RetryPolicy};
use crate::driver::Judge;
use crate::exit::Failure;
use crate::local::backend::LocalBackend;
use crate::local::counter::PromptCounter;
use crate::local::download::{HubEndpoint, ensure};
use crate::local::engine::LocalModel;
use crate::local::hub::{HubCache, ModelRef};
use crate::settings::{Backend, Settings};

/// What a command talks to, and what it should know about it.
pub struct Opened {
    pub backend: Box<dyn ChatBackend>,
    /// The model's own context window when the settings name none (local models know it).
    pub context_window: Option<u32>,
    /// True for the in-process model: one generation at a time uses every core.
    pub local: bool,
}

/// The model judge of `coverage = "model"`: its own profile's backend, or none (the
/// conversation's is used), and its model.
pub struct OpenedJudge {
    own: Option<Opened>,
    model: String,
}

impl OpenedJudge {
    pub fn judge(&self) -> Judge<'_> {
        Judge { backend: self.own.as_ref().map(|o| o.backend.as_ref()), model: &self.model }
    }
}

impl Context {
    /// The backend of the resolved settings. For the local model this may download it
    /// (with progress) and loads it, which takes a few seconds.
    pub fn open_backend(&self) -> Result<Opened, Failure> {
        self.open_backend_for(&self.settings)
    }

    /// With `coverage = "model"`: the judge, with its profile's backend opened when it names
    /// one (else it shares the conversation's); `None` with lexical coverage.
    pub fn open_judge(&self) -> Result<Option<OpenedJudge>, Failure> {
        let Some(model) = self.settings.judge_model() else { return Ok(None) };
        let own = match self.settings.judge_profile() {
            Some(profile) => Some(self.open_backend_for(profile)?),
            None => None,
        };
        let at = match self.settings.judge_profile() {
            Some(profile) => {
                format!(" at {} (profile {})", profile.base_url_shown(), profile.profile())
            }
            None => String::new(),
        };
        self.printer.status(format!("coverage: model judge {model}{at}"));
        Ok(Some(OpenedJudge { own, model: model.to_string() }))
    }

    fn open_backend_for(&self, settings: &Settings) -> Result<Opened, Failure> {
        match settings.backend() {
            Backend::Http => Ok(Opened {
                backend: Box::new(self.http_client_for(settings)?),
                context_window: None,
                local: false,
            }),
            Backend::Local => self.local_backend(settings),
        }
    }

    /// A client for the resolved HTTP endpoint; runs the key command, if any, once.
    pub fn http_client(&self) -> Result<ChatClient, Failure> {
        self.http_client_for(&self.settings)
    }

    fn http_client_for(&self, s: &Settings) -> Result<ChatClient, Failure> {
        let endpoint = Endpoint {
            base_url: s.base_url().to_string(),
            api_key: s.api_key()?,
            key_source: s.key_source().clone(),
            profile: s.profile().to_string(),
            headers: s.headers().to_vec(),
            connect_timeout: s.connect_timeout(),
            idle_timeout: s.idle_timeout(),
            request_timeout: s.request_timeout(),
            max_answer_bytes: s.max_answer_bytes(),
            stream: s.stream(),
            include_usage: s.include_usage(),
        };
        if let (Some(_), Some(notice)) = (&endpoint.api_key, s.key_destination_notice()) {
            self.printer.warn(notice);
        }
        self.printer.detail(format!(
            "endpoint {} (profile {}), model {}, {}",
            s.base_url_shown(),
            s.profile(),
            s.model(),
            if s.stream() { "streaming" } else { "not streaming" }
        ));
        ChatClient::new(endpoint, retry_policy(s)).map_err(Failure::usage)
    }

    /// The configured retries and backoff, for the client and for a batch's limiter.
    pub fn retry_policy(&self) -> RetryPolicy {
        retry_policy(&self.settings)
    }

    /// The per-request parameters, with the local model's own context window when the
    /// settings name none.
    pub fn request_for(&self, opened: &Opened) -> crate::driver::RequestSettings {
        let mut request = self.request_settings();
        request.context_window = request.context_window.or(opened.context_window);
        request
    }

    /// The local model's own counter (template and tokenizer, read from the file's metadata
    /// without loading the weights) when the local backend is configured and its model is on
    /// disk; `None` otherwise (then tiktoken estimates).
    pub fn local_counter(&self) -> Option<PromptCounter> {
        if self.settings.backend() != Backend::Local {
            return None;
        }
        let model: ModelRef = self.settings.model().parse().ok()?;
        let env = |var: &str| std::env::var(var).ok();
        let path = HubCache::from_env(&env).ok()?.find(&model)?;
        match PromptCounter::open(&path) {
            Ok(counter) => Some(counter),
            Err(error) => {
                self.printer.warn(format!("counting approximately: {error}"));
                None
            }
        }
    }

    fn local_backend(&self, settings: &Settings) -> Result<Opened, Failure> {
        let name = settings.model();
        let model: ModelRef = name.parse().map_err(super::model::failure)?;
        let env = |var: &str| std::env::var(var).ok();
        let path = match &model {
            ModelRef::File(path) => path.clone(),
            ModelRef::Hub { .. } => {
                let cache = HubCache::from_env(&env).map_err(super::model::failure)?;
                let hub = HubEndpoint::from_env(&env);
                let progress = crate::render::download::reporter(self.printer);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Failure::work(format!("cannot start the async runtime: {e}")))?;
                runtime
                    .block_on(ensure(&model, &cache, &hub, progress.as_ref()))
                    .map_err(super::model::failure)?
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.printer.warn(format!(
            "no endpoint configured: running {model} in this process on {cores} CPU cores; \
             answers take minutes (set --base-url or OPENAI_BASE_URL for a server)"
        ));
        let loaded = LocalModel::load(&path).map_err(|e| Failure::usage(e.to_string()))?;
        let context_window = u32::try_from(loaded.context_length()).ok();
        Ok(Opened { backend: Box::new(LocalBackend::new(loaded)), context_window, local: true })
    }
}

fn retry_policy(settings: &Settings) -> RetryPolicy {
    let retry = settings.retry();
    RetryPolicy {
        max_attempts: retry.max_attempts,
        initial_backoff: retry.initial_backoff,
        max_backoff: retry.max_backoff,
    }
}
