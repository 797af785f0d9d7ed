//! The prompt files compiled into the binary, so an installed `deepdive` needs no files.

/// Builds `(path shown in errors, file text)` for a file under `prompts/`.
macro_rules! prompt_file {
    ($path:literal) => {
        (concat!("prompts/", $path), include_str!(concat!("../../prompts/", $path)))
    };
}

pub(super) const PRIMING: (&str, &str) = prompt_file!("priming.md");
pub(super) const FOLLOWUPS: (&str, &str) = prompt_file!("followups.toml");
pub(super) const COMBINING: &str = prompt_file!("guide/combining.md").1;
pub(super) const ADAPTING: &str = prompt_file!("guide/adapting.md").1;

pub(super) const TOPICS: [(&str, &str); 20] = [
    prompt_file!("topics/01-multi-replica-testing.md"),
    prompt_file!("topics/02-data-durability.md"),
    prompt_file!("topics/03-observability.md"),
    prompt_file!("topics/04-runbooks.md"),
    prompt_file!("topics/05-blue-green.md"),
    prompt_file!("topics/06-load-testing.md"),
    prompt_file!("topics/07-chaos-engineering.md"),
    prompt_file!("topics/08-service-mesh.md"),
    prompt_file!("topics/09-resource-sizing.md"),
    prompt_file!("topics/10-alerting.md"),
    prompt_file!("topics/11-secrets.md"),
    prompt_file!("topics/12-configuration.md"),
    prompt_file!("topics/13-persistent-storage.md"),
    prompt_file!("topics/14-db-connections.md"),
    prompt_file!("topics/15-health-checks.md"),
    prompt_file!("topics/16-graceful-shutdown.md"),
    prompt_file!("topics/17-logging.md"),
    prompt_file!("topics/18-incident-response.md"),
    prompt_file!("topics/19-pre-production-gates.md"),
    prompt_file!("topics/20-capacity-planning.md"),
];
