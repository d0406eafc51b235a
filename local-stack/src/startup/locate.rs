//! Where the stack's parts are: the template, the function binaries, and
//! the labels of each function's instances.

use std::path::{Path, PathBuf};

use crate::options::Options;
use crate::template::Template;

/// `template.yaml` in the current folder or a parent, else next to the
/// executable's folders (`target/release/..`).
fn find_template(opts: &Options) -> Result<PathBuf, String> {
    if let Some(t) = &opts.template {
        return Ok(t.clone());
    }
    let starts = [
        std::env::current_dir().ok(),
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf)),
    ];
    starts
        .iter()
        .flatten()
        .flat_map(|s| s.ancestors())
        .map(|d| d.join("template.yaml"))
        .find(|c| c.is_file())
        .ok_or_else(|| {
            "template.yaml not found in the current folder or its parents (pass --template)".into()
        })
}

/// The template and the folder it is in (where `node_modules` is).
pub(super) fn load_template(opts: &Options) -> Result<(Template, PathBuf), String> {
    let path = find_template(opts)?;
    let root = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let template =
        Template::parse(&text, &opts.parameters).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((template, root))
}

/// The folder of the function binaries, all of them there.
pub(super) fn bin_dir(opts: &Options, template: &Template) -> Result<PathBuf, String> {
    let bin_dir = match &opts.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
            .ok_or("cannot tell local-stack's own folder (pass --bin-dir)")?,
    };
    let missing: Vec<String> = template
        .functions
        .iter()
        .map(|f| bin_dir.join(&f.binary))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        let packages: Vec<String> = template
            .functions
            .iter()
            .map(|f| format!("-p {}", f.binary))
            .collect();
        return Err(format!(
            "missing function binaries: {} (build them: cargo build --release {}; or pass --bin-dir)",
            missing.join(", "),
            packages.join(" ")
        ));
    }
    Ok(bin_dir)
}

/// Each function's instance labels (`epoch-stats#1`, or just `warmer`).
pub(super) fn instance_labels(opts: &Options, template: &Template) -> Vec<Vec<String>> {
    template
        .functions
        .iter()
        .map(|f| {
            let n = if f.routes.is_empty() {
                opts.warmer_instances
            } else {
                opts.instances
            };
            (1..=n)
                .map(|i| {
                    if n == 1 {
                        f.name.clone()
                    } else {
                        format!("{}#{i}", f.name)
                    }
                })
                .collect()
        })
        .collect()
}
