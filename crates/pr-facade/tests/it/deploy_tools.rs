//! The deployment files under `docs/deploy/` checked as their users' own
//! tools would check them: the Kubernetes manifests by `kubernetes-validate`
//! against the Kubernetes schemas (offline, strict), `docker-compose.yml` by
//! `check-jsonschema` against the Compose specification, the compose
//! Prometheus configuration by `promtool check config` (with the rule file it
//! loads), and every query of the Grafana dashboard by `promtool check rules`.
//!
//! Each check is also run on a copy with a planted fault (a misspelt field,
//! an unknown key, a broken expression) and must refuse it, so that a check
//! that quietly stopped checking fails here rather than passing everything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_norway::Value as Yaml;

use pr_test_support::{check_jsonschema, kubernetes_validate, promtool_run, temp_dir};

use crate::e2e::repo_path;

/// The Kubernetes version whose schemas the manifests are checked against:
/// one `kubernetes-validate` (pinned in the root `Cargo.toml`) carries, and a release the
/// manifests' API versions (`autoscaling/v2`, `policy/v1`) are served by.
const KUBERNETES: &str = "1.34.0";

fn yaml(relative: &str) -> Yaml {
    let text = std::fs::read_to_string(repo_path(relative)).unwrap();
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn text(relative: &str) -> String {
    std::fs::read_to_string(repo_path(relative)).unwrap()
}

/// Writes `contents` to `name` in `dir`, returning the path.
fn plant(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// `original` with its first `from` replaced by `to`; panics when `from` is
/// not there (a planted fault that plants nothing proves nothing).
fn replaced(original: &str, from: &str, to: &str) -> String {
    assert!(
        original.contains(from),
        "`{from}` not found to plant a fault"
    );
    original.replacen(from, to, 1)
}

#[test]
fn deploy_manifests_pass_the_kubernetes_schemas_and_a_misspelt_field_does_not() {
    let dir = repo_path("docs/deploy/k8s");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    for expected in [
        "deployment.yaml",
        "service.yaml",
        "poddisruptionbudget.yaml",
        "horizontalpodautoscaler.yaml",
        "networkpolicy.yaml",
    ] {
        assert!(files.iter().any(|f| f == expected), "no k8s/{expected}");
    }
    for file in &files {
        let said = kubernetes_validate(KUBERNETES, &[Path::new(file)], &dir)
            .unwrap_or_else(|e| panic!("{e}"));
        let kind = yaml(&format!("docs/deploy/k8s/{file}"))["kind"]
            .as_str()
            .unwrap()
            .to_owned();
        if kind == "PodMonitor" {
            // The Prometheus Operator's resource is a custom one: no schema of
            // Kubernetes' own describes it, and the tool says so.
            assert!(
                said.contains("Couldn't find schema for kind PodMonitor"),
                "{said}"
            );
            continue;
        }
        assert!(
            said.contains(&format!("passed for resource {}/", kind.to_lowercase()))
                && said.contains(&format!("against version {}", &KUBERNETES[..4])),
            "{file}: {said}"
        );
    }

    // A misspelt field, which Kubernetes would drop with a warning and run
    // the default of (one replica): the strict schemas refuse it.
    let scratch = temp_dir("k8s");
    let bad = plant(
        scratch.path(),
        "deployment.yaml",
        &replaced(
            &text("docs/deploy/k8s/deployment.yaml"),
            "  replicas: 2",
            "  replicass: 2",
        ),
    );
    let said = kubernetes_validate(KUBERNETES, &[bad.as_path()], scratch.path())
        .expect_err("a Deployment with `replicass` passed");
    assert!(said.contains("'replicass' was unexpected"), "{said}");
    // A value of the wrong type in a new manifest, too.
    let bad = plant(
        scratch.path(),
        "hpa.yaml",
        &replaced(
            &text("docs/deploy/k8s/horizontalpodautoscaler.yaml"),
            "averageUtilization: 70",
            "averageUtilization: seventy",
        ),
    );
    let said = kubernetes_validate(KUBERNETES, &[bad.as_path()], scratch.path())
        .expect_err("an HPA with a text utilization passed");
    assert!(said.contains("seventy"), "{said}");
}

/// The container ports of the Deployment by name.
fn container_ports(deployment: &Yaml) -> BTreeMap<String, u64> {
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["containerPort"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn deploy_budget_autoscaler_and_network_policy_select_the_deployments_pods() {
    let deployment = yaml("docs/deploy/k8s/deployment.yaml");
    let name = deployment["metadata"]["name"].as_str().unwrap();
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(&deployment["spec"]["selector"]["matchLabels"], pod_labels);
    let service = yaml("docs/deploy/k8s/service.yaml");
    assert_eq!(&service["spec"]["selector"], pod_labels);

    let budget = yaml("docs/deploy/k8s/poddisruptionbudget.yaml");
    let autoscaler = yaml("docs/deploy/k8s/horizontalpodautoscaler.yaml");
    let policy = yaml("docs/deploy/k8s/networkpolicy.yaml");
    for (what, doc) in [
        ("PodDisruptionBudget", &budget),
        ("HorizontalPodAutoscaler", &autoscaler),
        ("NetworkPolicy", &policy),
    ] {
        assert_eq!(doc["kind"].as_str(), Some(what));
        assert_eq!(doc["metadata"]["name"].as_str(), Some(name), "{what}");
        assert_eq!(
            &doc["metadata"]["labels"], &deployment["metadata"]["labels"],
            "{what}"
        );
    }
    assert_eq!(&budget["spec"]["selector"]["matchLabels"], pod_labels);
    assert_eq!(&policy["spec"]["podSelector"]["matchLabels"], pod_labels);

    // The autoscaler scales this Deployment, on CPU, never below its own
    // replica count, and always leaves the budget a pod to evict.
    let target = &autoscaler["spec"]["scaleTargetRef"];
    assert_eq!(target["apiVersion"], deployment["apiVersion"]);
    assert_eq!(target["kind"].as_str(), Some("Deployment"));
    assert_eq!(target["name"].as_str(), Some(name));
    let metric = &autoscaler["spec"]["metrics"][0];
    assert_eq!(metric["resource"]["name"].as_str(), Some("cpu"));
    assert_eq!(
        metric["resource"]["target"]["type"].as_str(),
        Some("Utilization")
    );
    let cpu_request =
        &deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"];
    assert!(cpu_request.is_string(), "utilization needs a CPU request");
    let min = autoscaler["spec"]["minReplicas"].as_u64().unwrap();
    assert!(min >= deployment["spec"]["replicas"].as_u64().unwrap());
    assert!(autoscaler["spec"]["maxReplicas"].as_u64().unwrap() > min);
    assert!(budget["spec"]["minAvailable"].as_u64().unwrap() < min);

    // Ingress only: the API port from every namespace, the ops port from
    // the monitoring namespace alone, and no rule for anything else.
    let ports = container_ports(&deployment);
    assert_eq!(ports["ops"], 9464);
    let types: Vec<&str> = policy["spec"]["policyTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(types, ["Ingress"]);
    let mut sources = BTreeMap::new();
    for rule in policy["spec"]["ingress"].as_sequence().unwrap() {
        let port = rule["ports"][0]["port"].as_u64().unwrap();
        assert_eq!(rule["ports"].as_sequence().unwrap().len(), 1, "{rule:?}");
        let from = rule["from"].as_sequence().unwrap();
        assert_eq!(from.len(), 1, "{rule:?}");
        sources.insert(port, from[0].clone());
    }
    let any_namespace: Yaml = serde_norway::from_str("namespaceSelector: {}").unwrap();
    let monitoring: Yaml = serde_norway::from_str(
        "namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}",
    )
    .unwrap();
    assert_eq!(
        sources,
        BTreeMap::from([(ports["http"], any_namespace), (ports["ops"], monitoring)])
    );
}

/// The `host:container` volume mounts of a compose service whose host side
/// is a path of ours (`./...`), as (path under `docs/deploy`, container path).
fn mounts(service: &Yaml) -> Vec<(String, String)> {
    service["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .filter_map(|v| {
            let mut parts = v.split(':');
            let host = parts.next()?.strip_prefix("./")?;
            Some((host.to_owned(), parts.next()?.to_owned()))
        })
        .collect()
}

#[test]
fn deploy_compose_file_matches_the_compose_spec_and_an_unknown_key_does_not() {
    let dir = repo_path("docs/deploy");
    check_jsonschema("vendor.compose-spec", Path::new("docker-compose.yml"), &dir)
        .unwrap_or_else(|e| panic!("{e}"));

    let scratch = temp_dir("compose");
    let bad = plant(
        scratch.path(),
        "docker-compose.yml",
        &replaced(
            &text("docs/deploy/docker-compose.yml"),
            "    stop_grace_period:",
            "    stop_grace_periode:",
        ),
    );
    let said = check_jsonschema("vendor.compose-spec", &bad, scratch.path())
        .expect_err("a compose file with an unknown key passed");
    assert!(said.contains("stop_grace_periode"), "{said}");

    // What the schema cannot know: the files it names are ours and there.
    let compose = yaml("docs/deploy/docker-compose.yml");
    let services = &compose["services"];
    for name in [
        "demo",
        "redis",
        "prometheus",
        "grafana",
        "otel-collector",
        "tempo",
    ] {
        assert!(services[name].is_mapping(), "no service {name}");
    }
    let build = &services["demo"]["build"];
    let context = dir.join(build["context"].as_str().unwrap());
    let dockerfile = context.join(build["dockerfile"].as_str().unwrap());
    assert_eq!(
        dockerfile.canonicalize().unwrap(),
        dir.join("Dockerfile").canonicalize().unwrap()
    );
    for service in ["prometheus", "grafana", "otel-collector", "tempo"] {
        for (host, _) in mounts(&services[service]) {
            assert!(
                dir.join(&host).is_file(),
                "{service} mounts a missing {host}"
            );
        }
    }
    let prometheus = mounts(&services["prometheus"]);
    assert!(prometheus.contains(&(
        "compose/prometheus.yml".to_owned(),
        "/etc/prometheus/prometheus.yml".to_owned()
    )));
    assert!(prometheus.contains(&(
        "alerts.yml".to_owned(),
        "/etc/prometheus/alerts.yml".to_owned()
    )));

    // Prometheus scrapes the demo's ops port by its service name.
    let config = yaml("docs/deploy/compose/prometheus.yml");
    let job = &config["scrape_configs"][0];
    assert_eq!(job["metrics_path"].as_str(), Some("/metrics"));
    assert_eq!(
        job["static_configs"][0]["targets"][0].as_str(),
        Some("demo:9464")
    );
    assert!(text("docs/deploy/Dockerfile").contains("APP__OPS__ADDR=0.0.0.0:9464"));

    // Grafana: the provisioned data source is the compose Prometheus, and the
    // dashboard provider reads the folder the dashboard is mounted into.
    let grafana = mounts(&services["grafana"]);
    let mounted = |host: &str| {
        grafana
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| panic!("grafana does not mount {host}"))
    };
    for file in [
        "compose/grafana/datasources.yml",
        "compose/grafana/dashboards.yml",
    ] {
        let at = mounted(file);
        assert!(at.starts_with("/etc/grafana/provisioning/"), "{at}");
        assert_eq!(
            yaml(&format!("docs/deploy/{file}"))["apiVersion"].as_u64(),
            Some(1)
        );
    }
    let source = &yaml("docs/deploy/compose/grafana/datasources.yml")["datasources"][0];
    assert_eq!(source["type"].as_str(), Some("prometheus"));
    assert_eq!(source["url"].as_str(), Some("http://prometheus:9090"));
    let provider = &yaml("docs/deploy/compose/grafana/dashboards.yml")["providers"][0];
    let folder = provider["options"]["path"].as_str().unwrap();
    let dashboard = mounted("grafana-dashboard.json");
    assert_eq!(Path::new(&dashboard).parent(), Some(Path::new(folder)));

    // Traces: the demo sends to the collector's OTLP/HTTP receiver, the
    // collector's one pipeline forwards to Tempo's OTLP/gRPC receiver, and
    // Grafana's Prometheus source links exemplars to the Tempo source.
    let endpoint = services["demo"]["environment"]["APP__TELEMETRY__ENDPOINT"]
        .as_str()
        .unwrap();
    assert_eq!(endpoint, "http://otel-collector:4318/v1/traces");
    let collector = yaml("docs/deploy/compose/otel-collector.yaml");
    assert_eq!(
        collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].as_str(),
        Some("0.0.0.0:4318")
    );
    let pipeline = &collector["service"]["pipelines"]["traces"];
    for (stage, section) in [
        ("receivers", "receivers"),
        ("processors", "processors"),
        ("exporters", "exporters"),
    ] {
        for name in pipeline[stage].as_sequence().unwrap() {
            let name = name.as_str().unwrap();
            assert!(
                collector[section][name].is_mapping(),
                "the traces pipeline names {stage} `{name}`, which is not defined"
            );
        }
    }
    assert_eq!(
        collector["exporters"]["otlp/tempo"]["endpoint"].as_str(),
        Some("tempo:4317")
    );
    let tempo = yaml("docs/deploy/compose/tempo.yaml");
    assert_eq!(
        tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].as_str(),
        Some("0.0.0.0:4317")
    );
    let sources = &yaml("docs/deploy/compose/grafana/datasources.yml")["datasources"];
    let tempo_source = sources
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["type"].as_str() == Some("tempo"))
        .expect("a Tempo data source");
    assert_eq!(
        tempo_source["url"].as_str(),
        Some(
            format!(
                "http://tempo:{}",
                tempo["server"]["http_listen_port"].as_u64().unwrap()
            )
            .as_str()
        )
    );
    assert_eq!(
        source["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"].as_str(),
        tempo_source["uid"].as_str()
    );
    // pr-metrics names the exemplar label `trace_id`.
    assert_eq!(
        source["jsonData"]["exemplarTraceIdDestinations"][0]["name"].as_str(),
        Some("trace_id")
    );
    let prometheus_args = services["prometheus"]["command"].as_sequence().unwrap();
    assert!(
        prometheus_args
            .iter()
            .any(|a| a.as_str() == Some("--enable-feature=exemplar-storage")),
        "Prometheus drops exemplars without exemplar storage"
    );
    let dashboard: Json =
        serde_json::from_str(&text("docs/deploy/grafana-dashboard.json")).unwrap();
    let latency_with_exemplars = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .any(|t| {
            t["exemplar"] == Json::Bool(true)
                && t["expr"]
                    .as_str()
                    .is_some_and(|e| e.contains("http_server_request_duration_seconds_bucket"))
        });
    assert!(latency_with_exemplars, "no latency panel shows exemplars");
}

/// The number of rules in `docs/deploy/alerts.yml`.
fn alert_rule_count() -> usize {
    yaml("docs/deploy/alerts.yml")["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|g| g["rules"].as_sequence().unwrap().len())
        .sum()
}

#[test]
fn deploy_promtool_accepts_the_compose_prometheus_config_and_its_rules() {
    // The layout the compose file mounts: both files in one directory.
    let scratch = temp_dir("compose-prometheus");
    plant(
        scratch.path(),
        "prometheus.yml",
        &text("docs/deploy/compose/prometheus.yml"),
    );
    let alerts = text("docs/deploy/alerts.yml");
    plant(scratch.path(), "alerts.yml", &alerts);
    let said = promtool_run(&["check", "config", "prometheus.yml"], scratch.path())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(said.contains("SUCCESS: 1 rule files found"), "{said}");
    assert!(
        said.contains(&format!("SUCCESS: {} rules found", alert_rule_count())),
        "{said}"
    );

    // promtool checks the rule file the config names: a broken expression
    // there fails the config check.
    let broken = replaced(
        &alerts,
        "expr: |\n          sum by",
        "expr: |\n          (sum by",
    );
    plant(scratch.path(), "alerts.yml", &broken);
    let said = promtool_run(&["check", "config", "prometheus.yml"], scratch.path())
        .expect_err("a config whose rules do not parse passed");
    assert!(said.contains("unclosed left parenthesis"), "{said}");
}

/// Every query of the dashboard's panels: (panel title, refId, expression).
fn dashboard_queries(dashboard: &Json) -> Vec<(String, String, String)> {
    fn walk(panels: &[Json], out: &mut Vec<(String, String, String)>) {
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or_default();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    let id = target["refId"].as_str().unwrap_or_default();
                    out.push((title.to_owned(), id.to_owned(), expr.to_owned()));
                }
            }
            // A collapsed row holds its panels.
            if let Some(inner) = panel["panels"].as_array() {
                walk(inner, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dashboard["panels"].as_array().unwrap(), &mut out);
    out
}

/// `expr` with Grafana's variables replaced by concrete values: the built-in
/// intervals by `5m`, the dashboard's own variables by a label value.
fn concrete(expr: &str, variables: &[String]) -> String {
    let mut out = expr.to_owned();
    for builtin in ["__rate_interval", "__interval", "__range"] {
        out = out
            .replace(&format!("${{{builtin}}}"), "5m")
            .replace(&format!("${builtin}"), "5m");
    }
    for name in variables {
        out = out
            .replace(&format!("${{{name}}}"), "pr-demo")
            .replace(&format!("${name}"), "pr-demo");
    }
    let leftover = out.match_indices('$').any(|(at, _)| {
        out[at + 1..].starts_with(|c: char| c == '{' || c.is_ascii_alphabetic() || c == '_')
    });
    assert!(!leftover, "a Grafana variable left in {out}");
    out
}

/// A rule file with one recording rule per query (promtool parses rule
/// files, not bare expressions), as JSON, which is YAML too.
fn rule_file(queries: &[String]) -> String {
    let rules: Vec<Json> = queries
        .iter()
        .enumerate()
        .map(|(i, expr)| serde_json::json!({ "record": format!("dashboard:query_{i}"), "expr": expr }))
        .collect();
    serde_json::json!({ "groups": [{ "name": "grafana-dashboard", "rules": rules }] }).to_string()
}

#[test]
fn deploy_every_dashboard_query_parses_and_a_broken_one_does_not() {
    let dashboard: Json =
        serde_json::from_str(&text("docs/deploy/grafana-dashboard.json")).unwrap();
    let variables: Vec<String> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect();
    assert!(variables.contains(&"service".to_owned()), "{variables:?}");
    assert_eq!(
        concrete(
            "rate(x{service=\"$service\"}[$__rate_interval])",
            &variables
        ),
        "rate(x{service=\"pr-demo\"}[5m])"
    );

    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 20, "only {} queries", queries.len());
    let exprs: Vec<String> = queries
        .iter()
        .map(|(_, _, expr)| concrete(expr, &variables))
        .collect();
    let scratch = temp_dir("dashboard-rules");
    plant(scratch.path(), "dashboard.rules.yml", &rule_file(&exprs));
    let said = promtool_run(&["check", "rules", "dashboard.rules.yml"], scratch.path())
        .unwrap_or_else(|e| panic!("{e}\nqueries: {queries:#?}"));
    assert!(
        said.contains(&format!("SUCCESS: {} rules found", exprs.len())),
        "{said}"
    );

    // One panel's query with an unbalanced parenthesis: promtool refuses it.
    let mut broken = dashboard.clone();
    let target = &mut broken["panels"][0]["targets"][0]["expr"];
    let expr = target.as_str().unwrap().to_owned();
    *target = Json::String(format!("sum({expr}"));
    let exprs: Vec<String> = dashboard_queries(&broken)
        .iter()
        .map(|(_, _, expr)| concrete(expr, &variables))
        .collect();
    plant(scratch.path(), "broken.rules.yml", &rule_file(&exprs));
    let said = promtool_run(&["check", "rules", "broken.rules.yml"], scratch.path())
        .expect_err("a dashboard query with an unbalanced parenthesis parsed");
    assert!(said.contains("dashboard:query_0"), "{said}");
}
