//! Tiny GGUF chat models written at test time (nothing is downloaded or committed).
//!
//! A model has a byte-level BPE vocabulary (256 byte tokens, merges learnt from a short text,
//! the family's special tokens), the family's chat template, and seeded random weights. Two
//! behaviours are built into the weights instead of being random, so that tests can rely on
//! them: [`Behaviour::StopsQuickly`] answers "Hi!" and then the end-of-turn token;
//! [`Behaviour::NeverStops`] repeats "abé" (é as two byte tokens) and never ends by itself;
//! [`Behaviour::Counts`] repeats the digits.
//!
//! They work through a residual stream that the (small) layers barely change: each "chain"
//! token's embedding is one-hot on its own dimension and the output row of its successor reads
//! that dimension; every other token carries a constant on dimension 0, which the output row of
//! the chain's first token reads.

// Each test binary that includes `common` uses a different part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// `qwen2`: ChatML template, `<|im_end|>` ends a turn, `pre = qwen2`.
    Qwen2,
    /// `llama`: Llama-3 template, `<|eot_id|>` ends a turn, `pre = llama-bpe`.
    Llama,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Everything random: the answer depends on the whole conversation.
    Random,
    /// Answers "Hi!" and then the end-of-turn token, whatever the prompt.
    StopsQuickly,
    /// Answers "abéabéabé…" without end.
    NeverStops,
    /// Answers "0123456789012…" without end: digits are tokenized one by one, so the answer
    /// re-tokenizes to the tokens generated (as a real model's answer usually does).
    Counts,
    /// Random layers, and an F32 output matrix whose rows come in pairs a hair apart: every
    /// greedy choice is a near-tie, so the last rounding difference in the hidden state
    /// shows in the answer.
    NearTies,
}

/// What to generate. [`Spec::tiny`] gives a ~100 KB model; the benchmark sets real dimensions.
#[derive(Clone, Debug)]
pub struct Spec {
    pub arch: Arch,
    pub behaviour: Behaviour,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub intermediate: usize,
    /// The vocabulary is padded with unreachable filler tokens up to this size.
    pub vocab: usize,
    pub context: u32,
    /// Type of the matrices (norms and biases are F32).
    pub dtype: GgmlDType,
    pub seed: u64,
}

impl Spec {
    pub fn tiny(arch: Arch, behaviour: Behaviour) -> Spec {
        Spec {
            arch,
            behaviour,
            hidden: 64,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            intermediate: 128,
            vocab: 0,
            context: 512,
            dtype: GgmlDType::Q8_0,
            seed: 7,
        }
    }
}

/// A model file in its own temporary directory, deleted on drop.
pub struct TinyModel {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn tiny(arch: Arch, behaviour: Behaviour) -> TinyModel {
    generate(&Spec::tiny(arch, behaviour))
}

pub fn generate(spec: &Spec) -> TinyModel {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write(spec, &path);
    TinyModel { path, _dir: dir }
}

/// Text the merges are learnt from.
const CORPUS: &str = "The service is ready for production when the team can deploy, observe \
    and roll back the change. Tell me about the tests, the logs and the alerts of the system. \
    What happens when the database is down? How do we know that the service is healthy?\n\n";
const MERGES: usize = 80;

const QWEN2_TEMPLATE: &str = "{%- if messages[0]['role'] == 'system' %}\
{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\
{%- else %}\
{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\
{%- endif %}
{%- for message in messages %}
{%- if not (message.role == 'system' and loop.first) %}
{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

const LLAMA_TEMPLATE: &str = "{{- bos_token }}
{%- for message in messages %}
{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

struct Vocab {
    tokens: Vec<String>,
    types: Vec<i32>,
    merges: Vec<String>,
    eos: u32,
    bos: Option<u32>,
}

/// GPT-2's reversible map from bytes to printable characters.
fn byte_chars() -> Vec<char> {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || b >= 174;
    let mut extra = 0;
    (0..256u32)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).unwrap()
            } else {
                extra += 1;
                char::from_u32(255 + extra).unwrap()
            }
        })
        .collect()
}

fn vocab(arch: Arch, size: usize) -> Vocab {
    let chars = byte_chars();
    let mut tokens: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
    // Words with their leading space, spelled in byte characters, and how often they occur.
    let mut words: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (i, word) in CORPUS.split(' ').enumerate() {
        let word = if i == 0 { word.to_string() } else { format!(" {word}") };
        let symbols = word.bytes().map(|b| chars[b as usize].to_string()).collect();
        *words.entry(symbols).or_default() += 1;
    }
    let mut merges = Vec::new();
    for _ in 0..MERGES {
        let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (word, count) in &words {
            for pair in word.windows(2) {
                *pairs.entry((pair[0].clone(), pair[1].clone())).or_default() += count;
            }
        }
        // Most frequent; the BTreeMap order breaks ties deterministically.
        let Some(((a, b), _)) = pairs.into_iter().max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)))
        else {
            break;
        };
        let joined = format!("{a}{b}");
        words = words
            .into_iter()
            .map(|(word, count)| {
                let mut out = Vec::with_capacity(word.len());
                let mut i = 0;
                while i < word.len() {
                    if i + 1 < word.len() && word[i] == a && word[i + 1] == b {
                        out.push(joined.clone());
                        i += 2;
                    } else {
                        out.push(word[i].clone());
                        i += 1;
                    }
                }
                (out, count)
            })
            .collect();
        merges.push(format!("{a} {b}"));
        if !tokens.contains(&joined) {
            tokens.push(joined);
        }
    }
    let mut types = vec![1; tokens.len()];
    let specials: &[&str] = match arch {
        Arch::Qwen2 => &["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        Arch::Llama => &[
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|eot_id|>",
        ],
    };
    let mut ids = HashMap::new();
    for special in specials {
        ids.insert(*special, tokens.len() as u32);
        tokens.push(special.to_string());
        types.push(3);
    }
    while tokens.len() < size {
        tokens.push(format!("<filler{}>", tokens.len()));
        types.push(1);
    }
    let (eos, bos) = match arch {
        Arch::Qwen2 => (ids["<|im_end|>"], None),
        Arch::Llama => (ids["<|eot_id|>"], Some(ids["<|begin_of_text|>"])),
    };
    Vocab { tokens, types, merges, eos, bos }
}

/// How far apart the two output rows of a [`Behaviour::NearTies`] pair are, per weight.
const NEAR_TIE: f32 = 1e-6;

/// Seeded uniform noise.
struct Noise(fastrand::Rng);

impl Noise {
    fn matrix(&mut self, rows: usize, cols: usize, scale: f32) -> Vec<f32> {
        (0..rows * cols).map(|_| (self.0.f32() * 2.0 - 1.0) * scale).collect()
    }
}

fn quantize(data: Vec<f32>, shape: &[usize], dtype: GgmlDType) -> QTensor {
    let tensor = Tensor::from_vec(data, shape, &Device::Cpu).unwrap();
    QTensor::quantize(&tensor, dtype).unwrap()
}

/// The tokens of the built-in answer, and what follows the last one (`None`: the first).
fn chain(behaviour: Behaviour, eos: u32) -> Option<(Vec<u32>, Option<u32>)> {
    match behaviour {
        Behaviour::Random | Behaviour::NearTies => None,
        Behaviour::StopsQuickly => {
            Some((b"Hi!".iter().map(|&b| u32::from(b)).collect(), Some(eos)))
        }
        Behaviour::NeverStops => Some(("abé".bytes().map(u32::from).collect(), None)),
        Behaviour::Counts => Some(("0123456789".bytes().map(u32::from).collect(), None)),
    }
}

pub fn write(spec: &Spec, path: &Path) {
    let vocab = vocab(spec.arch, spec.vocab);
    let n_vocab = vocab.tokens.len();
    let (hidden, head_dim) = (spec.hidden, spec.hidden / spec.heads);
    let kv_dim = spec.kv_heads * head_dim;
    let mut noise = Noise(fastrand::Rng::with_seed(spec.seed));
    let chain = chain(spec.behaviour, vocab.eos);
    // Designed models keep the layers' contributions far below the residual stream's tokens
    // (they add up over layers and grow with the width).
    let layer_scale = |fan_in: usize| match chain {
        Some(_) => 0.3 / hidden as f32,
        None => 1.7 / (fan_in as f32).sqrt(),
    };

    let mut embeddings = noise.matrix(n_vocab, hidden, 1.0);
    let mut output = None;
    if let Some((chain, after_last)) = &chain {
        assert!(chain.len() + 2 < hidden, "the hidden size is too small for the chain");
        for (token, row) in embeddings.chunks_mut(hidden).enumerate() {
            row[1..=chain.len()].fill(0.0);
            row[0] = 4.0;
            if let Some(dim) = chain.iter().position(|&c| c == token as u32) {
                row.fill(0.0);
                row[dim + 1] = 8.0;
            }
        }
        let mut out = noise.matrix(n_vocab, hidden, 0.02);
        for i in 0..chain.len() {
            let next = chain.get(i + 1).copied().or(*after_last).unwrap_or(chain[0]);
            out[next as usize * hidden + i + 1] += 2.0;
        }
        out[chain[0] as usize * hidden] += 2.0;
        output = Some(quantize(out, &[n_vocab, hidden], spec.dtype));
    }
    if spec.behaviour == Behaviour::NearTies {
        let mut out = noise.matrix(n_vocab, hidden, 1.0);
        for pair in out.chunks_mut(2 * hidden) {
            let (first, second) = pair.split_at_mut(hidden.min(pair.len()));
            for (a, b) in first.iter().zip(second.iter_mut()) {
                *b = *a + (noise.0.f32() * 2.0 - 1.0) * NEAR_TIE;
            }
        }
        output = Some(quantize(out, &[n_vocab, hidden], GgmlDType::F32));
    }

    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    tensors
        .push(("token_embd.weight".into(), quantize(embeddings, &[n_vocab, hidden], spec.dtype)));
    if let Some(output) = output {
        tensors.push(("output.weight".into(), output));
    }
    let ones = |n: usize| quantize(vec![1.0; n], &[n], GgmlDType::F32);
    tensors.push(("output_norm.weight".into(), ones(hidden)));
    for layer in 0..spec.layers {
        let mut matrix = |name: &str, rows: usize, cols: usize| {
            let data = noise.matrix(rows, cols, layer_scale(cols));
            (format!("blk.{layer}.{name}.weight"), quantize(data, &[rows, cols], spec.dtype))
        };
        tensors.push(matrix("attn_q", hidden, hidden));
        tensors.push(matrix("attn_k", kv_dim, hidden));
        tensors.push(matrix("attn_v", kv_dim, hidden));
        tensors.push(matrix("attn_output", hidden, hidden));
        tensors.push(matrix("ffn_gate", spec.intermediate, hidden));
        tensors.push(matrix("ffn_up", spec.intermediate, hidden));
        tensors.push(matrix("ffn_down", hidden, spec.intermediate));
        tensors.push((format!("blk.{layer}.attn_norm.weight"), ones(hidden)));
        tensors.push((format!("blk.{layer}.ffn_norm.weight"), ones(hidden)));
        if spec.arch == Arch::Qwen2 {
            for (name, n) in [("attn_q", hidden), ("attn_k", kv_dim), ("attn_v", kv_dim)] {
                let bias = quantize(noise.matrix(1, n, 0.1), &[n], GgmlDType::F32);
                tensors.push((format!("blk.{layer}.{name}.bias"), bias));
            }
        }
    }

    let (arch, pre, template) = match spec.arch {
        Arch::Qwen2 => ("qwen2", "qwen2", QWEN2_TEMPLATE),
        Arch::Llama => ("llama", "llama-bpe", LLAMA_TEMPLATE),
    };
    let key = |suffix: &str| format!("{arch}.{suffix}");
    let strings =
        |items: &[String]| Value::Array(items.iter().map(|s| Value::String(s.clone())).collect());
    let mut metadata: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        ("general.name".into(), Value::String(format!("tiny-{arch}-{:?}", spec.behaviour))),
        (key("context_length"), Value::U32(spec.context)),
        (key("embedding_length"), Value::U32(hidden as u32)),
        (key("block_count"), Value::U32(spec.layers as u32)),
        (key("feed_forward_length"), Value::U32(spec.intermediate as u32)),
        (key("attention.head_count"), Value::U32(spec.heads as u32)),
        (key("attention.head_count_kv"), Value::U32(spec.kv_heads as u32)),
        (key("attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
        (key("rope.freq_base"), Value::F32(10_000.0)),
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), Value::String(pre.into())),
        ("tokenizer.ggml.tokens".into(), strings(&vocab.tokens)),
        (
            "tokenizer.ggml.token_type".into(),
            Value::Array(vocab.types.iter().map(|&t| Value::I32(t)).collect()),
        ),
        ("tokenizer.ggml.merges".into(), strings(&vocab.merges)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(vocab.eos)),
        ("tokenizer.chat_template".into(), Value::String(template.into())),
    ];
    if let Some(bos) = vocab.bos {
        metadata.push(("tokenizer.ggml.bos_token_id".into(), Value::U32(bos)));
        metadata.push(("tokenizer.ggml.add_bos_token".into(), Value::Bool(true)));
        metadata.push((key("rope.dimension_count"), Value::U32(head_dim as u32)));
    }

    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    gguf_file::write(&mut file, &metadata, &tensors).unwrap();
}
