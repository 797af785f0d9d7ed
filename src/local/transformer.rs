//! The decoder-only transformer of the supported GGUF families (Qwen2 and Llama), computed
//! as candle-transformers' `quantized_qwen2` and `quantized_llama` do, with two differences
//! that the engine needs:
//!
//! - the KV cache lives outside the weights ([`KvCache`]) and can be truncated, so a new
//!   prompt that shares only part of the cached tokens still reuses that part;
//! - token embeddings stay quantized (rows are dequantized when looked up) instead of being
//!   expanded to F32, which saves ~0.9 GB on Qwen2.5-1.5B.
//!
//! Llama-3.x `rope_freqs.weight` frequency factors are applied when present, as llama.cpp does.

use std::borrow::Cow;
use std::sync::Arc;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor, ggml_file};
use candle_core::{DType, Device, IndexOp, Module, Result, Tensor};
use candle_transformers::quantized_nn::RmsNorm;
use candle_transformers::utils::build_causal_mask;

/// The longest context the rotary tables are built for, whatever the model claims: the KV cache
/// of a 1.5B model at this length is ~1.9 GB already.
pub(crate) const MAX_CONTEXT: usize = 32_768;

/// Which GGUF architecture the weights follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// `qwen2`: biases on q/k/v, rotary embedding on split halves (NEOX).
    Qwen2,
    /// `llama` (Llama-3.x, SmolLM2): no biases, rotary embedding on interleaved pairs.
    Llama,
}

impl Family {
    pub(crate) fn from_architecture(architecture: &str) -> Option<Family> {
        match architecture {
            "qwen2" => Some(Family::Qwen2),
            "llama" => Some(Family::Llama),
            _ => None,
        }
    }

    fn key(self, suffix: &str) -> String {
        let prefix = match self {
            Family::Qwen2 => "qwen2",
            Family::Llama => "llama",
        };
        format!("{prefix}.{suffix}")
    }
}

/// The attention keys and values of the tokens fed so far, per layer.
pub(crate) struct KvCache {
    layers: Vec<Option<LayerCache>>,
    len: usize,
}

impl KvCache {
    /// Keeps only the first `len` tokens (the rest of each buffer is overwritten later).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

/// Room for positions the cache grows by: a buffer is reallocated (and copied) once per
/// this many tokens at most, not once per token as concatenation would.
const KV_GROWTH: usize = 512;

/// One layer's keys and values, `(1, kv_heads, capacity, head_dim)` each; positions past the
/// cache's length are stale.
struct LayerCache {
    k: Tensor,
    v: Tensor,
}

impl LayerCache {
    /// Writes `k` and `v` (`(1, kv_heads, n, head_dim)`) at position `pos` and returns views
    /// of positions `0..pos + n`, without copying what is already there.
    fn append(
        slot: &mut Option<LayerCache>,
        k: &Tensor,
        v: &Tensor,
        pos: usize,
        context: usize,
    ) -> Result<(Tensor, Tensor)> {
        let needed = pos + k.dim(2)?;
        let capacity = slot.as_ref().map_or(Ok(0), |c| c.k.dim(2))?;
        if needed > capacity {
            let grown = needed.max(2 * capacity).div_ceil(KV_GROWTH) * KV_GROWTH;
            let grown = grown.min(context.max(needed));
            let (_, heads, _, head_dim) = k.dims4()?;
            let buffer = || Tensor::zeros((1, heads, grown, head_dim), k.dtype(), k.device());
            let next = LayerCache { k: buffer()?, v: buffer()? };
            if let Some(old) = slot.as_ref().filter(|_| pos > 0) {
                next.k.slice_set(&old.k.narrow(2, 0, pos)?.contiguous()?, 2, 0)?;
                next.v.slice_set(&old.v.narrow(2, 0, pos)?.contiguous()?, 2, 0)?;
            }
            *slot = Some(next);
        }
        let Some(cache) = slot.as_ref() else {
            candle_core::bail!("the key-value cache was not allocated");
        };
        cache.k.slice_set(&k.contiguous()?, 2, pos)?;
        cache.v.slice_set(&v.contiguous()?, 2, pos)?;
        Ok((cache.k.narrow(2, 0, needed)?, cache.v.narrow(2, 0, needed)?))
    }
}

pub(crate) struct Transformer {
    embeddings: QuantizedEmbedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: QMatMul,
    rope: Rope,
    context: usize,
    device: Device,
}

impl Transformer {
    /// Reads the weights of `family` from an open GGUF file.
    pub(crate) fn load<R: std::io::Read + std::io::Seek>(
        family: Family,
        content: &Content,
        reader: &mut R,
        device: &Device,
    ) -> Result<Transformer> {
        let md = |suffix: &str| {
            let key = family.key(suffix);
            content
                .metadata
                .get(&key)
                .ok_or_else(|| candle_core::Error::msg(format!("missing metadata `{key}`")))
        };
        let n_head = md("attention.head_count")?.to_u32()? as usize;
        let n_kv_head = md("attention.head_count_kv")?.to_u32()? as usize;
        let hidden = md("embedding_length")?.to_u32()? as usize;
        let n_layers = md("block_count")?.to_u32()? as usize;
        let context = md("context_length")?.to_u32()? as usize;
        let eps = f64::from(md("attention.layer_norm_rms_epsilon")?.to_f32()?);
        let freq_base = md("rope.freq_base").and_then(|v| v.to_f32()).unwrap_or(10_000.0);
        if n_head == 0 || n_kv_head == 0 || n_head % n_kv_head != 0 || hidden % n_head != 0 {
            candle_core::bail!("inconsistent attention heads ({n_head} query, {n_kv_head} kv)");
        }
        let head_dim = hidden / n_head;
        if let Ok(rope_dim) = md("rope.dimension_count").and_then(|v| v.to_u32()) {
            if rope_dim as usize != head_dim {
                candle_core::bail!("partial rotary embeddings ({rope_dim} of {head_dim})");
            }
        }
        let context = context.clamp(1, MAX_CONTEXT);

        let has = |name: &str| content.tensor_infos.contains_key(name);
        let (tied, has_factors) = (!has("output.weight"), has("rope_freqs.weight"));
        let mut tensor = |name: &str| content.tensor(reader, name, device);
        let embeddings = Arc::new(tensor("token_embd.weight")?);
        let output = match tied {
            true => QMatMul::from_arc(embeddings.clone())?,
            false => QMatMul::from_qtensor(tensor("output.weight")?)?,
        };
        let norm = RmsNorm::from_qtensor(tensor("output_norm.weight")?, eps)?;
        let factors = match has_factors {
            true => Some(tensor("rope_freqs.weight")?.dequantize(device)?.to_vec1::<f32>()?),
            false => None,
        };
        let rope = Rope::new(family, head_dim, freq_base, factors.as_deref(), context, device)?;
        let mut layers = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let mut weight = |name: &str| tensor(&format!("blk.{i}.{name}"));
            let mut linear = |name: &str| -> Result<Linear> {
                let bias = match family {
                    Family::Qwen2 => Some(weight(&format!("{name}.bias"))?.dequantize(device)?),
                    Family::Llama => None,
                };
                Ok(Linear {
                    weight: QMatMul::from_qtensor(weight(&format!("{name}.weight"))?)?,
                    bias,
                })
            };
            let (q, k, v) = (linear("attn_q")?, linear("attn_k")?, linear("attn_v")?);
            let mut matmul = |name: &str| QMatMul::from_qtensor(weight(&format!("{name}.weight"))?);
            let (o, gate, up, down) = (
                matmul("attn_output")?,
                matmul("ffn_gate")?,
                matmul("ffn_up")?,
                matmul("ffn_down")?,
            );
            let mut rms =
                |name: &str| RmsNorm::from_qtensor(weight(&format!("{name}.weight"))?, eps);
            layers.push(Layer {
                attn_norm: rms("attn_norm")?,
                ffn_norm: rms("ffn_norm")?,
                q,
                k,
                v,
                o,
                gate,
                up,
                down,
                n_head,
                n_kv_head,
                head_dim,
            });
        }
        Ok(Transformer {
            embeddings: QuantizedEmbedding::new(embeddings, hidden)?,
            layers,
            norm,
            output,
            rope,
            context,
            device: device.clone(),
        })
    }

    /// The longest sequence (prompt and answer) the model can attend to.
    pub(crate) fn context(&self) -> usize {
        self.context
    }

    pub(crate) fn new_cache(&self) -> KvCache {
        KvCache { layers: self.layers.iter().map(|_| None).collect(), len: 0 }
    }

    /// Feeds `tokens` after the ones in `cache` and returns the logits for the next token.
    /// On error the cache is left in an unknown state: clear it.
    pub(crate) fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let pos = cache.len;
        let seq_len = tokens.len();
        if seq_len == 0 || pos + seq_len > self.context {
            candle_core::bail!("cannot feed {seq_len} tokens at position {pos}");
        }
        let mask = match seq_len {
            1 => None,
            _ => Some(build_causal_mask(seq_len, pos, &self.device)?),
        };
        let mut hidden = self.embeddings.forward(tokens, &self.device)?.unsqueeze(0)?;
        for (layer, kv) in self.layers.iter().zip(&mut cache.layers) {
            let residual = &hidden;
            let x = layer.attn_norm.forward(&hidden)?;
            let attention =
                layer.attention(&x, mask.as_ref(), pos, &self.rope, kv, self.context)?;
            let x = (attention + residual)?;
            let residual = &x;
            let y = layer.mlp(&layer.ffn_norm.forward(&x)?)?;
            hidden = (y + residual)?;
        }
        cache.len = pos + seq_len;
        let last = self.norm.forward(&hidden)?.i((.., seq_len - 1, ..))?;
        self.output.forward(&last)?.squeeze(0)
    }
}

/// Token embeddings kept in their quantized form; looked-up rows are dequantized.
struct QuantizedEmbedding {
    table: Arc<QTensor>,
    dtype: GgmlDType,
    row_bytes: usize,
    rows: usize,
    hidden: usize,
}

impl QuantizedEmbedding {
    fn new(table: Arc<QTensor>, hidden: usize) -> Result<QuantizedEmbedding> {
        let (rows, width) = table.shape().dims2()?;
        let dtype = table.dtype();
        if width != hidden || hidden % dtype.block_size() != 0 {
            candle_core::bail!(
                "token embeddings of shape ({rows}, {width}), expected width {hidden}"
            );
        }
        let row_bytes = hidden / dtype.block_size() * dtype.type_size();
        Ok(QuantizedEmbedding { table, dtype, row_bytes, rows, hidden })
    }

    /// `(tokens.len(), hidden)` F32 embeddings.
    fn forward(&self, tokens: &[u32], device: &Device) -> Result<Tensor> {
        let data: Cow<'_, [u8]> = self.table.data()?;
        let mut picked = Vec::with_capacity(tokens.len() * self.row_bytes);
        for &token in tokens {
            let row = token as usize;
            if row >= self.rows {
                candle_core::bail!("token id {token} is outside the vocabulary ({})", self.rows);
            }
            picked.extend_from_slice(&data[row * self.row_bytes..(row + 1) * self.row_bytes]);
        }
        ggml_file::qtensor_from_ggml(self.dtype, &picked, vec![tokens.len(), self.hidden], device)?
            .dequantize(device)
    }
}

/// Precomputed rotary-embedding tables.
struct Rope {
    cos: Tensor,
    sin: Tensor,
    interleaved: bool,
}

impl Rope {
    fn new(
        family: Family,
        head_dim: usize,
        freq_base: f32,
        factors: Option<&[f32]>,
        context: usize,
        device: &Device,
    ) -> Result<Rope> {
        let theta: Vec<f32> = (0..head_dim)
            .step_by(2)
            .enumerate()
            .map(|(n, i)| {
                let theta = 1f32 / freq_base.powf(i as f32 / head_dim as f32);
                theta / factors.and_then(|f| f.get(n)).copied().unwrap_or(1.0)
            })
            .collect();
        let theta = Tensor::new(theta.as_slice(), device)?;
        let positions = Tensor::arange(0, context as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((context, 1))?;
        let angles = positions.matmul(&theta.reshape((1, theta.elem_count()))?)?;
        Ok(Rope { cos: angles.cos()?, sin: angles.sin()?, interleaved: family == Family::Llama })
    }

    fn apply(&self, x: &Tensor, pos: usize) -> Result<Tensor> {
        let (_, _, seq_len, _) = x.dims4()?;
        let cos = self.cos.narrow(0, pos, seq_len)?;
        let sin = self.sin.narrow(0, pos, seq_len)?;
        let x = x.contiguous()?;
        if self.interleaved {
            candle_nn::rotary_emb::rope_i(&x, &cos, &sin)
        } else {
            candle_nn::rotary_emb::rope(&x, &cos, &sin)
        }
    }
}

struct Linear {
    weight: QMatMul,
    bias: Option<Tensor>,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.weight.forward(x)?;
        match &self.bias {
            Some(bias) => y.broadcast_add(bias),
            None => Ok(y),
        }
    }
}

struct Layer {
    attn_norm: RmsNorm,
    ffn_norm: RmsNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    o: QMatMul,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
}

impl Layer {
    /// Grouped-query attention without copying keys and values per query head: the query
    /// heads that share a key-value head are stacked as rows of one matrix product.
    fn attention(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        pos: usize,
        rope: &Rope,
        kv: &mut Option<LayerCache>,
        context: usize,
    ) -> Result<Tensor> {
        let (batch, seq_len, width) = x.dims3()?;
        let heads = |t: Tensor, n: usize| {
            t.reshape((batch, seq_len, n, self.head_dim))?.transpose(1, 2)?.contiguous()
        };
        let q = rope.apply(&heads(self.q.forward(x)?, self.n_head)?, pos)?;
        let k = rope.apply(&heads(self.k.forward(x)?, self.n_kv_head)?, pos)?;
        let v = heads(self.v.forward(x)?, self.n_kv_head)?;
        let (k, v) = LayerCache::append(kv, &k, &v, pos, context)?;

        let group = self.n_head / self.n_kv_head;
        // (1, heads, seq, dim) -> (1, kv_heads, group * seq, dim): heads are contiguous.
        let q = q.reshape((batch, self.n_kv_head, group * seq_len, self.head_dim))?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        let scores = match mask {
            Some(mask) => {
                let shape = scores.shape();
                let (_, total) = mask.dims2()?;
                let rows = mask.unsqueeze(0)?.broadcast_as((group, seq_len, total))?;
                let rows = rows.contiguous()?.reshape((group * seq_len, total))?;
                let neg_inf =
                    Tensor::new(f32::NEG_INFINITY, scores.device())?.broadcast_as(shape)?;
                rows.broadcast_as(shape)?.where_cond(&neg_inf, &scores)?
            }
            None => scores,
        };
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let y = weights.matmul(&v)?.reshape((batch, self.n_head, seq_len, self.head_dim))?;
        self.o.forward(&y.transpose(1, 2)?.reshape((batch, seq_len, width))?)
    }

    fn mlp(&self, x: &Tensor) -> Result<Tensor> {
        let gate = self.gate.forward(x)?;
        let up = self.up.forward(x)?;
        self.down.forward(&(candle_nn::ops::silu(&gate)? * up)?)
    }
}
