//! Features: chaos injection, breakers as health checks, metrics checked by
//! promtool.

#[cfg(feature = "chaos")]
mod chaos {
    use std::time::Duration;

    use pr_resilience::chaos::Chaos;
    use pr_resilience::{CallError, Clock, Error};

    #[tokio::test(start_paused = true)]
    async fn faults_latency_and_outcomes_at_their_rates_behind_a_switch() {
        let never = Chaos::builder("off").fault_rate(0.0).build().unwrap();
        let always = Chaos::builder("on").fault_rate(1.0).build().unwrap();
        for _ in 0..100 {
            assert!(never.call(async { Ok::<_, ()>(()) }).await.is_ok());
            assert!(matches!(
                always.call(async { Ok::<_, ()>(()) }).await,
                Err(CallError::Rejected(Error::InjectedFault { .. }))
            ));
        }
        let half = Chaos::builder("half").fault_rate(0.5).build().unwrap();
        let mut faults = 0;
        for _ in 0..10_000 {
            faults += u32::from(half.call(async { Ok::<_, ()>(()) }).await.is_err());
        }
        assert!((4_000..6_000).contains(&faults), "{faults} of 10000");
        always.disable();
        assert!(always.call(async { Ok::<_, ()>(()) }).await.is_ok());
        always.enable();
        assert!(always.is_enabled());

        let slow = Chaos::builder("slow")
            .latency(1.0, Duration::from_secs(2))
            .clock(Clock::tokio())
            .build()
            .unwrap();
        let start = tokio::time::Instant::now();
        assert!(slow.call(async { Ok::<_, ()>(()) }).await.is_ok());
        assert_eq!(start.elapsed(), Duration::from_secs(2));

        let fake = Chaos::builder("fake").outcome_rate(1.0).build().unwrap();
        let answer = fake
            .call_or_substitute(async { Ok::<_, u16>(200) }, || Err(503))
            .await;
        assert_eq!(answer, Err(503));
        assert!(Chaos::builder("bad").fault_rate(1.5).build().is_err());
    }
}

#[cfg(feature = "health")]
mod health {
    use std::time::Duration;

    use pr_health::{HealthConfig, HealthRegistry, Status};
    use pr_resilience::breaker::{BreakerCheck, BreakerRegistry, CircuitBreaker, RegistryCheck};

    #[tokio::test]
    async fn an_open_breaker_degrades_readiness() {
        let mut config = HealthConfig::default();
        config.cache_ttl = pr_core::units::Duration::from_secs(0);
        let health = HealthRegistry::new(config).unwrap();
        let breaker = CircuitBreaker::builder("payments").build().unwrap();
        health.add(BreakerCheck::new(breaker.clone())).unwrap();
        let hosts =
            BreakerRegistry::new(CircuitBreaker::builder("host"), 10, Duration::from_secs(60))
                .unwrap();
        health
            .add(RegistryCheck::new("upstreams", hosts.clone()))
            .unwrap();
        health.lifecycle().mark_ready();
        assert_eq!(health.readiness().await.status, Status::Up);
        breaker.force_open();
        let report = health.readiness().await;
        assert_eq!(report.status, Status::Degraded);
        breaker.reset();
        hosts.get(&"api.example.com").force_open();
        assert_eq!(health.readiness().await.status, Status::Degraded);
    }
}

#[cfg(feature = "metrics")]
mod metrics {
    use std::time::Duration;

    use metrics_exporter_prometheus::PrometheusBuilder;
    use pr_resilience::Error;
    use pr_resilience::breaker::{CallOutcome, CircuitBreaker, SlidingWindow};
    use pr_resilience::bulkhead::Bulkhead;
    use pr_resilience::retry::{Backoff, Retry};

    #[tokio::test(start_paused = true)]
    async fn exposition_passes_promtool() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let (breaker, bulkhead, retry) = metrics::with_local_recorder(&recorder, || {
            let breaker = CircuitBreaker::builder("payments")
                .sliding_window(SlidingWindow::Count(2))
                .minimum_calls(2)
                .build()
                .unwrap();
            let bulkhead = Bulkhead::builder("payments").limit(1).build().unwrap();
            let retry = Retry::builder()
                .name("payments")
                .backoff(Backoff::Constant(Duration::from_millis(1)))
                .max_retries(1)
                .build()
                .unwrap();
            (breaker, bulkhead, retry)
        });
        breaker.try_acquire().unwrap().record(CallOutcome::Success);
        breaker.try_acquire().unwrap().record(CallOutcome::Failure);
        let held = bulkhead.try_acquire().unwrap();
        let refused = bulkhead.try_acquire().is_err();
        assert!(refused);
        drop(held);
        metrics::with_local_recorder(&recorder, || {
            // Retries and timeouts count by name, at the time they happen.
            let _: Result<(), Error> = retry.run_blocking(|| {
                Err(Error::Rejected {
                    name: "x".into(),
                    retry_after: None,
                })
            });
        });
        let _ = breaker.try_acquire();
        let text = handle.render();
        for name in [
            "pr_resilience_breaker_calls_total",
            "pr_resilience_breaker_rejected_total",
            "pr_resilience_breaker_state",
            "pr_resilience_bulkhead_in_use",
            "pr_resilience_bulkhead_rejected_total",
            "pr_resilience_retries_total",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
        assert!(
            text.contains(r#"pr_resilience_breaker_state{breaker="payments",state="open"} 1"#),
            "{text}"
        );
        pr_test_support::check_metrics(&text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
    }
}
