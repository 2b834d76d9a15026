//! # CI/CD pipeline: lint → test → build → deploy, rolled back when the health check fails
//!
//! ```text
//! cargo run --release --example cicd_pipeline
//! RUST_LOG=onex_runtime=info cargo run --release --example cicd_pipeline   # with logs
//! ```
//!
//! The project is a small static site (markdown pages). The pipeline:
//!
//! ```text
//!             ┌─> lint ─┐
//! checkout ───┤         ├──> build ──> deploy ──> health check
//!             └─> test ─┘
//! ```
//!
//! Lint and test only read the sources, so they are COMPUTE nodes and run side by side
//! in one wave (`ExecutionMode::Parallel`). Build, deploy and the health check touch the
//! file system, so they are EFFECT nodes. Everything happens in real directories under a
//! temporary root:
//!
//! ```text
//! dist/site-<version>.html          build artifacts, kept for post-mortems
//! releases/<version>/site.html      one directory per deployed release
//! current                           the live version, flipped atomically by deploy
//! ```
//!
//! `deploy` declares `compensate = rollback`. Runs use `FailureStrategy::Compensate`, so
//! when the health check of a new release fails (after its retries), the rollback flips
//! `current` back to the previous release and removes the broken one. The demo deploys a
//! good version, then one whose home page went missing: it passes lint and test, but not
//! the health check.

use std::collections::BTreeMap;
use std::error::Error;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use onex::prelude::*;
use tracing_subscriber::EnvFilter;

// ---- the data ----

/// A commit to deliver: a checked-out working tree and its version.
#[derive(Debug, Clone)]
pub struct Commit {
    pub version: String,
    pub dir: PathBuf,
}

/// The pages of a commit, read once so lint and test need no I/O.
#[derive(Debug, Clone)]
pub struct Sources {
    pub version: String,
    /// Page name (file stem) → markdown.
    pub pages: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct LintReport {
    pub pages_checked: usize,
}

#[derive(Debug, Clone)]
pub struct TestReport {
    pub links_checked: usize,
}

/// A built site, ready to deploy.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub version: String,
    pub path: PathBuf,
    pub bytes: u64,
}

/// A deployed release, and what was live before it: what `rollback` needs.
#[derive(Debug, Clone)]
pub struct Release {
    pub version: String,
    pub dir: PathBuf,
    pub previous: Option<String>,
}

/// A healthy live release: the pipeline's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub version: String,
}

// ---- the deployment environment ----

/// Where artifacts and releases live. Registered on the runtime as a resource; effect
/// nodes fetch it with `ctx.resource::<Environment>()`.
#[derive(Debug, Clone)]
pub struct Environment {
    pub root: PathBuf,
}

impl Environment {
    pub fn dist(&self) -> PathBuf {
        self.root.join("dist")
    }

    pub fn release_dir(&self, version: &str) -> PathBuf {
        self.root.join("releases").join(version)
    }

    /// The version `current` points at, if anything was deployed.
    pub fn current(&self) -> io::Result<Option<String>> {
        match fs::read_to_string(self.root.join("current")) {
            Ok(version) => Ok(Some(version.trim().to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Points `current` at `version` (or at nothing). Written to a temporary file and
    /// renamed over the marker: a rename is atomic, so readers see the old or the new
    /// version, never half a file.
    fn set_current(&self, version: Option<&str>) -> io::Result<()> {
        let marker = self.root.join("current");
        match version {
            Some(version) => {
                let tmp = self.root.join("current.tmp");
                fs::write(&tmp, version)?;
                fs::rename(tmp, marker)
            }
            None => fs::remove_file(marker),
        }
    }

    /// What a visitor of the live site gets: the current release's site.
    pub fn serve(&self) -> io::Result<String> {
        let version = self
            .current()?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "nothing is deployed"))?;
        fs::read_to_string(self.release_dir(&version).join("site.html"))
    }
}

// ---- the nodes ----

/// EFFECT: reads the commit's pages. `io::Error` converts into `NodeError` with `?`.
#[node(effect, name = "NodeCheckoutEffect")]
pub fn checkout(commit: &Commit) -> Result<Sources, NodeError> {
    let mut pages = BTreeMap::new();
    for entry in fs::read_dir(commit.dir.join("pages"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "md")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            pages.insert(stem.to_owned(), fs::read_to_string(&path)?);
        }
    }
    Ok(Sources {
        version: commit.version.clone(),
        pages,
    })
}

/// COMPUTE: every page starts with a `# ` title and has no trailing whitespace.
#[node(compute, name = "NodeLintCompute")]
pub fn lint(sources: &Sources) -> Result<LintReport, NodeError> {
    let mut problems = Vec::new();
    for (page, text) in &sources.pages {
        if !text.starts_with("# ") {
            problems.push(format!("{page}.md:1: a page starts with a `# ` title"));
        }
        for (n, line) in text.lines().enumerate() {
            if line.ends_with([' ', '\t']) {
                problems.push(format!("{page}.md:{}: trailing whitespace", n + 1));
            }
        }
    }
    if problems.is_empty() {
        Ok(LintReport {
            pages_checked: sources.pages.len(),
        })
    } else {
        Err(NodeError::permanent(problems.join("; ")).with_code(ErrorCode::InvalidInput))
    }
}

/// COMPUTE: every `[text](page.md)` link points at a page that exists.
#[node(compute, name = "NodeTestCompute")]
pub fn run_tests(sources: &Sources) -> Result<TestReport, NodeError> {
    let mut links_checked = 0;
    let mut broken = Vec::new();
    for (page, text) in &sources.pages {
        for target in links(text) {
            links_checked += 1;
            let exists = target
                .strip_suffix(".md")
                .is_some_and(|name| sources.pages.contains_key(name));
            if !exists {
                broken.push(format!("{page}.md links to missing `{target}`"));
            }
        }
    }
    if broken.is_empty() {
        Ok(TestReport { links_checked })
    } else {
        Err(NodeError::permanent(broken.join("; ")).with_code(ErrorCode::InvalidInput))
    }
}

/// The targets of the markdown links in `text`.
fn links(text: &str) -> impl Iterator<Item = &str> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target))
}

/// EFFECT: renders the site into one HTML file under `dist/`. It takes the lint and test
/// reports only to run after both passed.
#[node(effect, name = "NodeBuildEffect")]
pub fn build(
    ctx: &Context,
    sources: &Sources,
    _lint: &LintReport,
    _tests: &TestReport,
) -> Result<Artifact, NodeError> {
    let env = ctx.resource::<Environment>()?;
    let mut html = format!(
        "<!doctype html>\n<!-- site {} -->\n<body>\n",
        sources.version
    );
    for (page, text) in &sources.pages {
        let (title, body) = text.split_once('\n').unwrap_or((text, ""));
        html.push_str(&format!(
            "<section id=\"{page}\">\n<h1>{}</h1>\n{}\n</section>\n",
            title.trim_start_matches("# "),
            body.trim()
        ));
    }
    html.push_str("</body>\n");
    fs::create_dir_all(env.dist())?;
    let path = env.dist().join(format!("site-{}.html", sources.version));
    fs::write(&path, &html)?;
    Ok(Artifact {
        version: sources.version.clone(),
        path,
        bytes: html.len() as u64,
    })
}

/// EFFECT: copies the artifact into its release directory and makes it live. Its
/// output remembers the previous release, so the compensation can restore it.
#[node(effect, name = "NodeDeployEffect", compensate = rollback)]
pub fn deploy(ctx: &Context, artifact: &Artifact) -> Result<Release, NodeError> {
    let env = ctx.resource::<Environment>()?;
    let dir = env.release_dir(&artifact.version);
    fs::create_dir_all(&dir)?;
    fs::copy(&artifact.path, dir.join("site.html"))?;
    let previous = env.current()?;
    env.set_current(Some(&artifact.version))?;
    Ok(Release {
        version: artifact.version.clone(),
        dir,
        previous,
    })
}

/// COMPENSATION of `deploy`: makes the previous release live again, then removes the
/// broken one. The previous release's files were never touched, so this is all a
/// rollback takes.
pub fn rollback(ctx: &Context, release: &Release) -> Result<(), NodeError> {
    let env = ctx.resource::<Environment>()?;
    env.set_current(release.previous.as_deref())?;
    fs::remove_dir_all(&release.dir)?;
    Ok(())
}

/// EFFECT: requests the live site's home page. A fresh release can take a moment to come
/// up, so a failure is transient and retried twice, 20 ms apart, before the run gives up
/// and compensates.
#[node(
    effect,
    name = "NodeHealthCheckEffect",
    retries = 2,
    backoff = fixed(20ms)
)]
pub fn health_check(ctx: &Context, release: &Release) -> Result<Live, NodeError> {
    let env = ctx.resource::<Environment>()?;
    let site = env.serve()?;
    if site.contains("<section id=\"index\">") {
        Ok(Live {
            version: release.version.clone(),
        })
    } else {
        Err(NodeError::transient(format!(
            "GET / on release {} answered 404: no home page",
            release.version
        )))
    }
}

workflow! {
    /// Deliver a commit: checkout, lint and test in parallel, build, deploy, verify.
    pub workflow Pipeline(commit: Commit) -> Live {
        sources = checkout(commit);
        lint_report = lint(sources);
        test_report = run_tests(sources);
        artifact = build(sources, lint_report, test_report);
        release = deploy(artifact);
        live = health_check(release);
        return live;
    }
}

// ---- the scenario ----

/// Writes a working tree for `version` with these pages under `root/src-<version>`.
pub fn write_commit(root: &Path, version: &str, pages: &[(&str, &str)]) -> io::Result<Commit> {
    let dir = root.join(format!("src-{version}"));
    fs::create_dir_all(dir.join("pages"))?;
    for (name, text) in pages {
        fs::write(dir.join("pages").join(format!("{name}.md")), text)?;
    }
    Ok(Commit {
        version: version.to_owned(),
        dir,
    })
}

/// Version 1.0.0: a home page linking to the others.
pub const V1_PAGES: &[(&str, &str)] = &[
    (
        "index",
        "# Welcome\nFresh coffee, roasted weekly. See [about](about.md) and [pricing](pricing.md).\n",
    ),
    ("about", "# About us\nA small roastery since 2009.\n"),
    (
        "pricing",
        "# Pricing\nBeans from 9 EUR. Read [about](about.md) us.\n",
    ),
];

/// Version 1.1.0: `index.md` was renamed `home.md`. Lint and the link test pass (nothing
/// links to the home page), but the site has no `/` any more.
pub const V2_PAGES: &[(&str, &str)] = &[
    (
        "home",
        "# Welcome\nFresh coffee, roasted weekly. See [about](about.md) and [pricing](pricing.md).\n",
    ),
    ("about", "# About us\nA small roastery since 2009.\n"),
    (
        "pricing",
        "# Pricing\nBeans from 10 EUR. Read [about](about.md) us.\n",
    ),
];

/// What the demo did.
#[derive(Debug)]
pub struct Delivery {
    pub env: Environment,
    /// The good release, live.
    pub first: WorkflowRun<Live>,
    /// The live site right after the first deploy.
    pub site_after_first: String,
    /// The broken release, rolled back.
    pub second: WorkflowError,
    /// The live site after the rollback.
    pub site_after_second: String,
}

/// Delivers version 1.0.0, then 1.1.0, into a deployment environment under `root`.
pub async fn deliver_two_versions(root: &Path) -> Result<Delivery, Box<dyn Error>> {
    let env = Environment {
        root: root.join("env"),
    };
    let rt = Runtime::builder().resource(env.clone()).build();
    let opts = || {
        RunOptions::new()
            // Lint and test share a wave; two slots let them run at the same time.
            .mode(ExecutionMode::Parallel { max_parallel: 2 })
            // Undo completed effects that declare a compensation (here: deploy).
            .failure_strategy(FailureStrategy::Compensate)
    };

    let v1 = write_commit(root, "1.0.0", V1_PAGES)?;
    let first = Pipeline::run(&rt, v1, opts()).await?;
    let site_after_first = env.serve()?;

    let v2 = write_commit(root, "1.1.0", V2_PAGES)?;
    let second = match Pipeline::run(&rt, v2, opts()).await {
        Err(e) => e,
        Ok(run) => return Err(format!("1.1.0 should not go live: {:?}", run.output).into()),
    };
    let site_after_second = env.serve()?;

    Ok(Delivery {
        env,
        first,
        site_after_first,
        second,
        site_after_second,
    })
}

fn describe(env: &Environment) -> String {
    let current = env
        .current()
        .ok()
        .flatten()
        .unwrap_or_else(|| "(none)".to_owned());
    let mut releases: Vec<String> = fs::read_dir(env.root.join("releases"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    releases.sort();
    format!("current → {current}; releases on disk: {releases:?}")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Logs go to stderr, filtered by RUST_LOG (`onex_runtime=info` shows the health
    // check's retries and the rollback); by default only errors are shown.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    let root = tempfile::tempdir()?;
    let d = deliver_two_versions(root.path()).await?;

    println!("release 1.0.0 → live {:?}", d.first.output.version);
    println!("{}\n", d.first.report);

    println!("release 1.1.0 → {}", d.second);
    if let Some(report) = d.second.report() {
        println!("{report}\n");
    }

    println!("environment: {}", describe(&d.env));
    let same = d.site_after_first == d.site_after_second;
    let marker = d
        .site_after_second
        .lines()
        .find(|line| line.starts_with("<!-- site"))
        .unwrap_or_default();
    println!(
        "the live site after the rollback is the one 1.0.0 deployed: {same} ({} bytes, {marker})",
        d.site_after_second.len(),
    );
    Ok(())
}
