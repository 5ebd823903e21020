//! The result of a scan as the seed's pipeline-scanner wrote it — `"Scan Type": "Image Scan"`,
//! `"Scan Results": {"Package Updates": ["name.arch", …], "OS Release": …}`, `Summary` — plus
//! the details a user then wants under keys of their own: each update's installed and
//! available EVR and repository, obsoleting packages, every repository used and every one that
//! failed (then the summary says the answer is partial).

use crate::decide::Decision;
use crate::image::Image;
use crate::repos::LoadedRepo;
use atomic_protocol::Outcome;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The seed's `Scan Type` (the CentOS pipeline's scanner wrote "Image Scan").
pub const SCAN_TYPE_LABEL: &str = "Image Scan";

/// Everything the report is made from.
pub struct Findings<'a> {
    pub image: &'a Image,
    pub decision: &'a Decision<'a>,
    pub repos: &'a [LoadedRepo],
    pub config_problems: &'a [String],
    pub active_modules: &'a [String],
    /// For an image: the layers that installed its packages, and the image's layers.
    pub install_layers: Option<(&'a rpmdb::layers::InstallLayers, &'a rootfs::ImageTree)>,
}

pub fn outcome(f: &Findings<'_>) -> Outcome {
    let names: BTreeSet<String> = f
        .decision
        .updates
        .iter()
        .map(|u| format!("{}.{}", u.candidate.name, u.candidate.arch))
        .collect();
    let repo_id = |i: usize| f.repos.get(i).map(|r| r.id.clone()).unwrap_or_default();
    let mut details: Vec<Value> = f
        .decision
        .updates
        .iter()
        .map(|u| {
            let mut v = json!({
                "Package": format!("{}.{}", u.candidate.name, u.candidate.arch),
                "Installed": format!("{}.{}", u.installed.evr.dnf_text(), u.installed.arch),
                "Available": u.candidate.evr.dnf_text(),
                "Repository": repo_id(u.candidate.repo),
            });
            let i = u.installed;
            if let Some((layers, tree)) = f.install_layers {
                if let Some(index) = layers.layer_of_parts(&i.name, &i.evr, &i.arch) {
                    v["Installed By Layer"] = atomic_protocol::image::layer_object(tree, index);
                }
            }
            v
        })
        .collect();
    details.sort_by_key(|v| v.to_string());
    let mut obsoletes: Vec<Value> = f
        .decision
        .obsoletes
        .iter()
        .map(|o| {
            json!({
                "Package": format!("{}.{}", o.candidate.name, o.candidate.arch),
                "Available": o.candidate.evr.dnf_text(),
                "Repository": repo_id(o.candidate.repo),
                "Obsoletes": format!("{}.{}", o.obsoleted.name, o.obsoleted.arch),
                "Obsoleted EVR": o.obsoleted.evr.dnf_text(),
            })
        })
        .collect();
    obsoletes.sort_by_key(|v| v.to_string());
    let failed: Vec<&LoadedRepo> = f.repos.iter().filter(|r| r.error.is_some()).collect();
    let repositories: Vec<Value> = f
        .repos
        .iter()
        .map(|r| {
            json!({
                "Repository": r.id,
                "Priority": r.priority,
                "Base URL": r.base,
                "Revision": r.revision,
                "Packages": r.package_count,
                "Status": if r.error.is_some() { "failed" } else { "ok" },
            })
        })
        .collect();
    let errors: Vec<Value> = failed
        .iter()
        .map(|r| json!({"Repository": r.id, "Error": r.error.clone().unwrap_or_default()}))
        .collect();

    let mut summary = if names.is_empty() && obsoletes.is_empty() {
        "No RPM updates available.".to_string()
    } else {
        "RPM updates available for the image.".to_string()
    };
    if !failed.is_empty() {
        let ids: Vec<&str> = failed.iter().map(|r| r.id.as_str()).collect();
        summary.push_str(&format!(
            " The answer is partial: {} of {} repositories could not be read ({}).",
            failed.len(),
            f.repos.len(),
            ids.join(", ")
        ));
    }

    let mut results = json!({
        "Package Updates": names.iter().collect::<Vec<_>>(),
        "OS Release": f.image.os.display_name(),
        "Update Details": details,
        "Obsoleting Packages": obsoletes,
        "Repositories": repositories,
        "Repository Errors": errors,
    });
    if !f.config_problems.is_empty() {
        results["Configuration Problems"] = json!(f.config_problems);
    }
    if !f.image.unreadable.is_empty() {
        results["Unreadable Database Records"] = json!(f.image.unreadable);
    }
    if !f.active_modules.is_empty() {
        results["Active Module Streams"] = json!(f.active_modules);
    }

    let mut outcome = Outcome::new(results.clone(), summary);
    outcome.has_findings = !names.is_empty() || !f.decision.obsoletes.is_empty();
    outcome.results = results["Update Details"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(results["Obsoleting Packages"].as_array().into_iter().flatten())
        .cloned()
        .collect();
    outcome.custom = Some(json!({
        "Updates": names.len(),
        "Obsoleting": f.decision.obsoletes.len(),
        "Repositories": f.repos.len(),
        "Failed Repositories": failed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
    }));
    outcome
}
