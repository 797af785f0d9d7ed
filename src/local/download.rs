//! Pulling a GGUF file from the Hugging Face hub into the cache, as `huggingface_hub` does:
//! the repo's file list and commit from `/api/models/{repo}/revision/main`, the file's sha256
//! and size from a `HEAD` of `/{repo}/resolve/{commit}/{file}` (the `x-linked-*` headers of its
//! redirect), then the bytes into `blobs/<sha256>.incomplete`, resumed with a `Range` request
//! after an interruption, hashed while written, verified, and renamed into `blobs/<sha256>`
//! before the snapshot link and `refs/main` are written. A model is never visible at its
//! snapshot path until its whole content has been verified.
//!
//! Cancel-safe: dropping the future at any await leaves at most the `.incomplete` file, whose
//! chunks are written synchronously (one small write per network chunk), so its content always
//! matches what was hashed; the next pull re-hashes that prefix and resumes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, HeaderMap, LOCATION, RANGE};
use reqwest::{Client, StatusCode, Url, redirect};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::hub::{HubCache, HubError, ModelRef, select_file};

/// How a download shows its progress. `start` comes first, with the size, before any byte is
/// fetched (and again if the server ignores a resume request and the download restarts from
/// zero); `advance` follows for every chunk kept, including an already downloaded prefix.
pub trait DownloadProgress: Sync {
    fn start(&self, total_bytes: u64, file: &str);
    fn advance(&self, bytes: u64);
}

/// Shows nothing.
pub struct NoProgress;

impl DownloadProgress for NoProgress {
    fn start(&self, _: u64, _: &str) {}
    fn advance(&self, _: u64) {}
}

/// Where models are pulled from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubEndpoint {
    /// `HF_ENDPOINT`, or [`HubEndpoint::DEFAULT_BASE`]; no trailing slash.
    pub base: String,
    /// `HF_HUB_OFFLINE`: use the cache only.
    pub offline: bool,
}

impl HubEndpoint {
    pub const DEFAULT_BASE: &'static str = "https://huggingface.co";

    /// `HF_ENDPOINT` and `HF_HUB_OFFLINE` (`1`, `on`, `yes` or `true`, as `huggingface_hub`
    /// reads it).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> HubEndpoint {
        let base = env("HF_ENDPOINT")
            .map(|b| b.trim().trim_end_matches('/').to_string())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| HubEndpoint::DEFAULT_BASE.to_string());
        let offline = env("HF_HUB_OFFLINE").is_some_and(|v| {
            ["1", "on", "yes", "true"].contains(&v.trim().to_ascii_lowercase().as_str())
        });
        HubEndpoint { base, offline }
    }
}

/// The model's file: from the cache if it is there, otherwise pulled (pull on first use).
pub async fn ensure(
    model: &ModelRef,
    cache: &HubCache,
    hub: &HubEndpoint,
    progress: &dyn DownloadProgress,
) -> Result<PathBuf, HubError> {
    match cache.find(model) {
        Some(path) => Ok(path),
        None => pull(model, cache, hub, progress).await,
    }
}

/// Brings the cache up to date with the hub's `main` for the file `model` names and returns its
/// snapshot path; downloads only what is missing. Offline, or when the hub cannot be reached,
/// the cached file is used; without one the error names the ways forward. A path is returned
/// as it is if the file exists.
pub async fn pull(
    model: &ModelRef,
    cache: &HubCache,
    hub: &HubEndpoint,
    progress: &dyn DownloadProgress,
) -> Result<PathBuf, HubError> {
    let (repo, quant) = match model {
        ModelRef::File(path) if path.is_file() => return Ok(path.clone()),
        ModelRef::File(path) => return Err(HubError::MissingFile(path.clone())),
        ModelRef::Hub { repo, quant } => (repo, quant),
    };
    let not_cached = |why: String| HubError::NotCached {
        model: model.to_string(),
        cache: cache.root().to_path_buf(),
        why,
    };
    if hub.offline {
        return cache.find(model).ok_or_else(|| not_cached("HF_HUB_OFFLINE is set".to_string()));
    }
    match pull_online(repo, quant, cache, hub, progress).await {
        Err(HubError::Unreachable { url, cause }) => cache
            .find(model)
            .ok_or_else(|| not_cached(format!("the hub cannot be reached ({url}: {cause})"))),
        other => other,
    }
}

async fn pull_online(
    repo: &str,
    quant: &str,
    cache: &HubCache,
    hub: &HubEndpoint,
    progress: &dyn DownloadProgress,
) -> Result<PathBuf, HubError> {
    let client = client(redirect::Policy::default())?;
    let info = repo_info(&client, hub, repo).await?;
    let file = select_file(
        repo,
        quant,
        &info.siblings.iter().map(|s| s.rfilename.clone()).collect::<Vec<_>>(),
    )?;
    let api_url = || format!("{}/api/models/{repo}", hub.base);
    if !safe_name(&info.sha) || !file.split('/').all(safe_name) {
        let what = format!("commit `{}` or file `{file}` is not a safe path", info.sha);
        return Err(HubError::Protocol { url: api_url(), what });
    }
    let path = cache.snapshot_path(repo, &info.sha, &file);
    if !path.is_file() {
        let head_client = client_without_redirects()?;
        let remote = remote_file(&head_client, hub, repo, &info.sha, &file).await?;
        fetch_blob(&client, &remote, cache, repo, &file, progress).await?;
        cache.link_snapshot(repo, &info.sha, &file, &remote.sha256)?;
    }
    cache.write_ref(repo, &info.sha)?;
    Ok(path)
}

/// A file or commit name that stays inside its folder.
fn safe_name(part: &str) -> bool {
    !part.is_empty() && part != "." && part != ".." && !part.contains(['\\', '\0'])
}

fn client(policy: redirect::Policy) -> Result<Client, HubError> {
    Client::builder()
        .user_agent(concat!("deepdive/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(60))
        .redirect(policy)
        .build()
        .map_err(|e| HubError::Client(cause(&e)))
}

/// For `HEAD`: the hub's redirect to its CDN carries the file's sha256 and size.
fn client_without_redirects() -> Result<Client, HubError> {
    client(redirect::Policy::none())
}

#[derive(Deserialize)]
struct RepoInfo {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
}

/// `base` with `segments` appended, each percent-encoded.
fn hub_url(base: &str, segments: &[&str]) -> Result<Url, HubError> {
    let bad = || HubError::BadEndpoint(base.to_string());
    let mut url = Url::parse(base).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad());
    }
    url.path_segments_mut()
        .map_err(|()| bad())?
        .pop_if_empty()
        .extend(segments.iter().flat_map(|s| s.split('/')));
    Ok(url)
}

async fn repo_info(client: &Client, hub: &HubEndpoint, repo: &str) -> Result<RepoInfo, HubError> {
    let url = hub_url(&hub.base, &["api", "models", repo, "revision", "main"])?;
    let response = client.get(url.clone()).send().await.map_err(|e| unreachable(&url, &e))?;
    check_status(response.status(), &url, hub, repo)?;
    let body = response.bytes().await.map_err(|e| unreachable(&url, &e))?;
    serde_json::from_slice(&body).map_err(|e| HubError::Protocol {
        url: url.to_string(),
        what: format!("not a model description ({e})"),
    })
}

fn check_status(
    status: StatusCode,
    url: &Url,
    hub: &HubEndpoint,
    repo: &str,
) -> Result<(), HubError> {
    match status.as_u16() {
        200..=299 => Ok(()),
        401 | 403 | 404 => Err(HubError::RepoNotFound {
            repo: repo.to_string(),
            url: format!("{}/{repo}", hub.base),
        }),
        other => Err(HubError::Status { url: url.to_string(), status: other }),
    }
}

/// What to download and what it must hash to.
struct RemoteFile {
    url: Url,
    sha256: String,
    size: u64,
}

/// `HEAD` of the file: relative redirects (renamed repos) are followed; the first absolute
/// redirect or success carries the metadata, and its target is where the bytes are.
async fn remote_file(
    client: &Client,
    hub: &HubEndpoint,
    repo: &str,
    commit: &str,
    file: &str,
) -> Result<RemoteFile, HubError> {
    let mut url = hub_url(&hub.base, &[repo, "resolve", commit, file])?;
    for _ in 0..5 {
        let response = client.head(url.clone()).send().await.map_err(|e| unreachable(&url, &e))?;
        let status = response.status();
        let headers = response.headers();
        if status.is_redirection() {
            let location =
                header(headers, LOCATION.as_str()).ok_or_else(|| HubError::Protocol {
                    url: url.to_string(),
                    what: "a redirect without a Location".to_string(),
                })?;
            let next = url.join(location).map_err(|e| HubError::Protocol {
                url: url.to_string(),
                what: format!("a redirect to `{location}` ({e})"),
            })?;
            let relative = !location.contains("://") && !location.starts_with("//");
            if relative && header(headers, "x-linked-etag").is_none() {
                url = next;
                continue;
            }
            return metadata(headers, next, &url, file);
        }
        check_status(status, &url, hub, repo)?;
        return metadata(headers, url.clone(), &url, file);
    }
    Err(HubError::Protocol { url: url.to_string(), what: "too many redirects".to_string() })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The sha256 (the LFS oid the hub gives as `x-linked-etag`, or the `etag`) and the size.
fn metadata(
    headers: &HeaderMap,
    download: Url,
    from: &Url,
    file: &str,
) -> Result<RemoteFile, HubError> {
    let protocol = |what: String| HubError::Protocol { url: from.to_string(), what };
    let etag = header(headers, "x-linked-etag").or_else(|| header(headers, "etag")).unwrap_or("");
    let sha256 = etag.trim().trim_start_matches("W/").trim_matches('"').to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(protocol(format!(
            "no sha256 for {file} (etag `{etag}`), so it cannot be verified"
        )));
    }
    let size = header(headers, "x-linked-size")
        .or_else(|| header(headers, CONTENT_LENGTH.as_str()))
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| protocol(format!("no size for {file}")))?;
    Ok(RemoteFile { url: download, sha256, size })
}

/// Downloads the blob unless it is already there; returns its path.
async fn fetch_blob(
    client: &Client,
    remote: &RemoteFile,
    cache: &HubCache,
    repo: &str,
    file: &str,
    progress: &dyn DownloadProgress,
) -> Result<PathBuf, HubError> {
    let dir = cache.blobs_dir(repo);
    let blob = dir.join(&remote.sha256);
    // Blobs are only ever placed after verification.
    if blob.is_file() {
        return Ok(blob);
    }
    fs::create_dir_all(&dir).map_err(|e| HubError::io(&dir, e))?;
    let part = dir.join(format!("{}.incomplete", remote.sha256));
    progress.start(remote.size, file);
    let (mut hasher, mut have) = hash_prefix(&part, remote.size).await?;
    if have > 0 {
        progress.advance(have);
    }
    let io_error = |e| HubError::io(&part, e);
    let mut out = OpenOptions::new().create(true).append(true).open(&part).map_err(io_error)?;
    if have < remote.size {
        let url = &remote.url;
        let mut request = client.get(url.clone());
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
        }
        let response = request.send().await.map_err(|e| unreachable(url, &e))?;
        match response.status() {
            StatusCode::PARTIAL_CONTENT if have > 0 => {
                let range = header(response.headers(), CONTENT_RANGE.as_str()).unwrap_or("");
                if range_start(range) != Some(have) {
                    let what = format!("asked for bytes {have}- and got `{range}`");
                    return Err(HubError::Protocol { url: url.to_string(), what });
                }
            }
            StatusCode::OK => {
                if have > 0 {
                    // The server ignored the Range request: start again from zero.
                    out.set_len(0).map_err(io_error)?;
                    (hasher, have) = (Sha256::new(), 0);
                    progress.start(remote.size, file);
                }
            }
            status => {
                return Err(HubError::Status { url: url.to_string(), status: status.as_u16() });
            }
        }
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| HubError::Interrupted { file: file.to_string(), cause: cause(&e) })?;
            let len = chunk.len() as u64;
            if have + len > remote.size {
                drop(out);
                let _ = fs::remove_file(&part);
                let what = format!("more than the {} bytes the hub announced", remote.size);
                return Err(HubError::Protocol { url: url.to_string(), what });
            }
            out.write_all(&chunk).map_err(io_error)?;
            hasher.update(&chunk);
            have += len;
            progress.advance(len);
        }
    }
    if have < remote.size {
        let cause = format!("{have} of {} bytes arrived", remote.size);
        return Err(HubError::Interrupted { file: file.to_string(), cause });
    }
    blocking(&part, move || out.sync_all()).await?;
    let actual = hex(&hasher.finalize());
    if actual != remote.sha256 {
        let _ = fs::remove_file(&part);
        return Err(HubError::Checksum {
            file: file.to_string(),
            expected: remote.sha256.clone(),
            actual,
        });
    }
    fs::rename(&part, &blob).map_err(|e| HubError::io(&blob, e))?;
    Ok(blob)
}

/// The hash and length of what an earlier attempt left in `part` (nothing if it is longer
/// than the file can be: it is then deleted).
async fn hash_prefix(part: &Path, size: u64) -> Result<(Sha256, u64), HubError> {
    let path = part.to_path_buf();
    blocking(part, move || {
        let mut file = match File::open(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Sha256::new(), 0)),
            other => other?,
        };
        if file.metadata()?.len() > size {
            drop(file);
            fs::remove_file(&path)?;
            return Ok((Sha256::new(), 0));
        }
        let (mut hasher, mut read) = (Sha256::new(), 0u64);
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                return Ok((hasher, read));
            }
            hasher.update(&buffer[..n]);
            read += n as u64;
        }
    })
    .await
}

/// Runs file work that may take a while (hashing a large prefix, syncing) off the runtime.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, HubError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|e| HubError::io(path, e)),
        Err(join) => Err(HubError::io(path, io::Error::other(join))),
    }
}

/// The first byte of a `Content-Range: bytes N-M/T` header.
fn range_start(value: &str) -> Option<u64> {
    value.trim().strip_prefix("bytes ")?.split('-').next()?.trim().parse().ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unreachable(url: &Url, error: &reqwest::Error) -> HubError {
    HubError::Unreachable { url: url.to_string(), cause: cause(error) }
}

/// The innermost cause of an error: reqwest's own message only names the URL.
fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = error;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_from_env() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let default = HubEndpoint::from_env(&env(&[]));
        assert_eq!(default, HubEndpoint { base: HubEndpoint::DEFAULT_BASE.into(), offline: false });
        let mirror = HubEndpoint::from_env(&env(&[
            ("HF_ENDPOINT", "http://m.local/"),
            ("HF_HUB_OFFLINE", "ON"),
        ]));
        assert_eq!(mirror, HubEndpoint { base: "http://m.local".into(), offline: true });
        assert!(!HubEndpoint::from_env(&env(&[("HF_HUB_OFFLINE", "0")])).offline);
    }

    #[test]
    fn urls_encode_each_segment_and_keep_a_base_path() {
        let url = hub_url("http://h:1/mirror/", &["o/r", "resolve", "abc", "d/a b.gguf"]).unwrap();
        assert_eq!(url.as_str(), "http://h:1/mirror/o/r/resolve/abc/d/a%20b.gguf");
        assert!(matches!(hub_url("ftp://h", &[]), Err(HubError::BadEndpoint(_))));
        assert!(matches!(hub_url("not a url", &[]), Err(HubError::BadEndpoint(_))));
    }

    #[test]
    fn metadata_prefers_the_linked_headers() {
        let sha = "a".repeat(64);
        let mut headers = HeaderMap::new();
        headers.insert("x-linked-etag", format!("\"{sha}\"").parse().unwrap());
        headers.insert("etag", "\"0123\"".parse().unwrap());
        headers.insert("x-linked-size", "1234".parse().unwrap());
        headers.insert("content-length", "0".parse().unwrap());
        let url = Url::parse("http://h/f").unwrap();
        let remote = metadata(&headers, url.clone(), &url, "f").unwrap();
        assert_eq!((remote.sha256, remote.size), (sha, 1234));

        let mut weak = HeaderMap::new();
        weak.insert("etag", format!("W/\"{}\"", "B".repeat(64)).parse().unwrap());
        weak.insert("content-length", "7".parse().unwrap());
        let remote = metadata(&weak, url.clone(), &url, "f").unwrap();
        assert_eq!((remote.sha256, remote.size), ("b".repeat(64), 7));

        let mut git_sha1 = HeaderMap::new();
        git_sha1.insert("etag", "\"da39a3ee5e6b4b0d3255bfef95601890afd80709\"".parse().unwrap());
        git_sha1.insert("content-length", "7".parse().unwrap());
        assert!(matches!(
            metadata(&git_sha1, url.clone(), &url, "f"),
            Err(HubError::Protocol { .. })
        ));
    }

    #[test]
    fn content_range_start() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes */200"), None);
        assert_eq!(range_start(""), None);
    }

    #[test]
    fn names_that_leave_their_folder_are_unsafe() {
        assert!(safe_name("model-q4_k_m.gguf"));
        for bad in ["", ".", "..", "a\\b"] {
            assert!(!safe_name(bad), "{bad}");
        }
    }
}
