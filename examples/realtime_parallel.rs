//! # Real-time parallel: six sensors, waves of at most five steps
//!
//! The ONEX tutorial's real-time scenario. One window of a sensor stream is read from six
//! independent sensors (async effects that wait on the network, simulated by short
//! sleeps), each reading is summarized (compute), and the summaries are combined into a
//! dashboard. Nothing links the sensors, so the graph has three waves:
//!
//! ```text
//! wave 0: temperature humidity pressure vibration power co2   (6 effects)
//! wave 1: six summaries                                        (6 computes)
//! wave 2: dashboard                                            (1 compute)
//! ```
//!
//! `ExecutionMode::Parallel { max_parallel: 5 }` runs each wave concurrently but never
//! more than five steps at once, so the sixth sensor waits for a free slot. A `RunObserver`
//! closure prints every step as it starts and finishes, with its wave. The same window is
//! then run sequentially to show what the parallelism bought.
//!
//! ```text
//! cargo run --release --example realtime_parallel
//! ```

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onex::RunEvent;
use onex::prelude::*;

/// The workflow's input: which stream and how many samples per sensor in this window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub stream: String,
    pub samples: usize,
}

/// The raw samples of one sensor for the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Readings {
    pub sensor: &'static str,
    pub unit: &'static str,
    /// Highest normal value; above it a sample is an anomaly.
    pub limit: f64,
    pub values: Vec<f64>,
}

/// One sensor's window, summarized.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub sensor: &'static str,
    pub unit: &'static str,
    pub mean: f64,
    pub max: f64,
    /// Samples above the sensor's limit.
    pub anomalies: usize,
}

/// What the window looks like on the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub sensors: Vec<Summary>,
    /// Sensors with at least one anomaly, in sensor order.
    pub alerts: Vec<&'static str>,
}

/// The shape of a simulated sensor's signal.
#[derive(Debug, Clone, Copy)]
struct Signal {
    /// The normal level.
    base: f64,
    /// Above it, a sample is an anomaly.
    limit: f64,
    /// The size of a faulty sensor's jumps, as a share of `base` (0 for a healthy one).
    spike: f64,
}

/// The simulated device behind every sensor: a network round trip (`latency_ms`) and a
/// deterministic signal, so runs and the test see the same numbers. A real node would
/// query a device gateway or a Kafka topic here.
async fn sample(
    ctx: &Context,
    window: &Window,
    sensor: &'static str,
    unit: &'static str,
    signal: Signal,
    latency_ms: u64,
) -> Result<Readings, NodeError> {
    if ctx.is_cancelled() {
        return Err(NodeError::permanent("window cancelled").with_code(ErrorCode::Cancelled));
    }
    // An async sleep yields the thread: the other sensors of the wave keep running.
    tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    let Signal { base, limit, spike } = signal;
    let values = (0..window.samples)
        .map(|i| {
            // A slow wave, plus (on a faulty sensor) a spike every 17th sample: something
            // for the summaries to find.
            let wave = (i as f64 / 5.0).sin() * base * 0.05;
            let jump = if i % 17 == 16 { base * spike } else { 0.0 };
            base + wave + jump
        })
        .collect();
    Ok(Readings {
        sensor,
        unit,
        limit,
        values,
    })
}

// Six EFFECT nodes, one per sensor, each with its own node type (what thunks, circuit
// breakers and traces key on) and a timeout: a sensor that does not answer in time fails
// its step instead of stalling the window.

#[node(effect, name = "NodeTemperatureSensorEffect", timeout = 1s)]
pub async fn read_temperature(ctx: &Context, window: &Window) -> Result<Readings, NodeError> {
    sample(
        ctx,
        window,
        "temperature",
        "°C",
        Signal {
            base: 21.0,
            limit: 28.0,
            spike: 0.5,
        },
        40,
    )
    .await
}

#[node(effect, name = "NodeHumiditySensorEffect", timeout = 1s)]
pub async fn read_humidity(ctx: &Context, window: &Window) -> Result<Readings, NodeError> {
    sample(
        ctx,
        window,
        "humidity",
        "%",
        Signal {
            base: 45.0,
            limit: 70.0,
            spike: 0.0,
        },
        30,
    )
    .await
}

#[node(effect, name = "NodePressureSensorEffect", timeout = 1s)]
pub async fn read_pressure(ctx: &Context, window: &Window) -> Result<Readings, NodeError> {
    sample(
        ctx,
        window,
        "pressure",
        "hPa",
        Signal {
            base: 1013.0,
            limit: 1100.0,
            spike: 0.0,
        },
        20,
    )
    .await
}

#[node(effect, name = "NodeVibrationSensorEffect", timeout = 1s)]
pub async fn read_vibration(ctx: &Context, window: &Window) -> Result<Readings, NodeError> {
    sample(
        ctx,
        window,
        "vibration",
        "mm/s",
        Signal {
            base: 2.0,
            limit: 2.8,
            spike: 0.6,
        },
        35,
    )
    .await
}

#[node(effect, name = "NodePowerSensorEffect", timeout = 1s)]
pub async fn read_power(ctx: &Context, window: &Window) -> Result<Readings, NodeError> {
    sample(
        ctx,
        window,
        "power",
        "kW",
        Signal {
            base: 120.0,
            limit: 200.0,
            spike: 0.0,
        },
        25,
    )
    .await
}

#[node(effect, name = "NodeCo2SensorEffect", timeout = 1s)]
pub async fn read_co2(ctx: &Context, window: &Window) -> Result<Readings, NodeError> {
    sample(
        ctx,
        window,
        "co2",
        "ppm",
        Signal {
            base: 600.0,
            limit: 850.0,
            spike: 0.0,
        },
        30,
    )
    .await
}

/// COMPUTE: one sensor's statistics. The same node serves six steps, so the graph shows
/// six `summarize` steps in wave 1; being synchronous, they run side by side on the rayon
/// pool (CPU-bound work uses every core), within the same `max_parallel` bound.
#[node(compute, name = "NodeSensorSummaryCompute")]
pub fn summarize(readings: &Readings) -> Result<Summary, NodeError> {
    let values = &readings.values;
    if values.is_empty() {
        return Err(
            NodeError::permanent(format!("{} sent no samples", readings.sensor))
                .with_code(ErrorCode::InvalidInput),
        );
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let anomalies = values.iter().filter(|&&v| v > readings.limit).count();
    Ok(Summary {
        sensor: readings.sensor,
        unit: readings.unit,
        mean,
        max,
        anomalies,
    })
}

/// COMPUTE: the fan-in. Takes all six summaries, so it waits for the whole of wave 1.
#[node(compute, name = "NodeDashboardCompute")]
pub fn dashboard(
    temperature: &Summary,
    humidity: &Summary,
    pressure: &Summary,
    vibration: &Summary,
    power: &Summary,
    co2: &Summary,
) -> Dashboard {
    let sensors = vec![
        temperature.clone(),
        humidity.clone(),
        pressure.clone(),
        vibration.clone(),
        power.clone(),
        co2.clone(),
    ];
    let alerts = sensors
        .iter()
        .filter(|s| s.anomalies > 0)
        .map(|s| s.sensor)
        .collect();
    Dashboard { sensors, alerts }
}

workflow! {
    /// One window of the sensor stream: six reads, six summaries, one dashboard.
    pub workflow SensorWindow(window: Window) -> Dashboard {
        temperature = read_temperature(window);
        humidity = read_humidity(window);
        pressure = read_pressure(window);
        vibration = read_vibration(window);
        power = read_power(window);
        co2 = read_co2(window);
        temperature_s = summarize(temperature);
        humidity_s = summarize(humidity);
        pressure_s = summarize(pressure);
        vibration_s = summarize(vibration);
        power_s = summarize(power);
        co2_s = summarize(co2);
        board = dashboard(temperature_s, humidity_s, pressure_s, vibration_s, power_s, co2_s);
        return board;
    }
}

/// One step start or finish, as the observer saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub step: String,
    pub wave: usize,
    /// True for `StepStarted`, false for `StepFinished`.
    pub started: bool,
    /// When, from the start of the window.
    pub at: Duration,
}

/// What a window run did, for `main` to print and the test to check.
#[derive(Debug)]
pub struct WindowRun {
    pub dashboard: Dashboard,
    pub report: WorkflowReport,
    /// Every start and finish, in the order the observer saw them.
    pub seen: Vec<Seen>,
}

impl WindowRun {
    /// The most steps of `wave` the observer saw running at the same time.
    ///
    /// Exact for the async sensor reads of wave 0. Synchronous steps run on the rayon pool
    /// in a group and their `StepFinished` events are sent when the group returns, so for
    /// wave 1 this counts steps that ran in turn as overlapping.
    pub fn peak_in_flight(&self, wave: usize) -> usize {
        let (mut now, mut peak) = (0usize, 0);
        for s in self.seen.iter().filter(|s| s.wave == wave) {
            if s.started {
                now += 1;
                peak = peak.max(now);
            } else {
                now = now.saturating_sub(1);
            }
        }
        peak
    }
}

/// Runs one window with `options`, watching it with an observer that records (and, with
/// `print`, prints) every step's start and finish with its wave.
pub async fn run_window(
    rt: &Runtime,
    window: Window,
    options: RunOptions,
    print: bool,
) -> Result<WindowRun, WorkflowError> {
    let started = Instant::now();
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    // `StepFinished` does not repeat the wave, so remember it from `StepStarted`.
    let waves = Arc::new(Mutex::new(HashMap::<String, usize>::new()));

    let observer = {
        let seen = Arc::clone(&seen);
        move |event: &RunEvent<'_>| {
            // The executor calls this inline on whatever thread runs the step: keep it
            // short, and never let a poisoned lock (a panic elsewhere) become a panic here.
            let at = started.elapsed();
            let mut waves = waves.lock().unwrap_or_else(|e| e.into_inner());
            let (step, wave, started_now) = match *event {
                RunEvent::StepStarted { step, wave, .. } => {
                    waves.insert(step.to_owned(), wave);
                    if print {
                        println!("  {:>7.1}ms  wave {wave}  ▶ {step}", at.as_secs_f64() * 1e3);
                    }
                    (step, wave, true)
                }
                RunEvent::StepFinished { step, state, .. } => {
                    let wave = waves.get(step).copied().unwrap_or_default();
                    if print {
                        println!(
                            "  {:>7.1}ms  wave {wave}  ✔ {step:<14} {state:?}",
                            at.as_secs_f64() * 1e3
                        );
                    }
                    (step, wave, false)
                }
                // Retries, skips and run events are not part of this picture.
                _ => return,
            };
            seen.lock().unwrap_or_else(|e| e.into_inner()).push(Seen {
                step: step.to_owned(),
                wave,
                started: started_now,
                at,
            });
        }
    };

    let run = SensorWindow::run(rt, window, options.observer(Arc::new(observer))).await?;
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(WindowRun {
        dashboard: run.output,
        report: run.report,
        seen,
    })
}

/// The bound used by `main` and the test.
pub const MAX_PARALLEL: usize = 5;

/// The window `main` and the test run.
pub fn demo_window() -> Window {
    Window {
        stream: "sensor-data-stream".into(),
        samples: 300,
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    init_tracing();
    let rt = Runtime::default();

    let graph = SensorWindow::graph();
    println!(
        "SensorWindow: {} steps in {} waves",
        graph.steps().len(),
        graph.waves().len()
    );
    println!("\nParallel {{ max_parallel: {MAX_PARALLEL} }}, as it runs:");
    let parallel = run_window(
        &rt,
        demo_window(),
        RunOptions::new().mode(ExecutionMode::Parallel {
            max_parallel: MAX_PARALLEL,
        }),
        true,
    )
    .await?;

    println!("\n{}", parallel.report);
    println!(
        "sensor reads in flight at once: {} of 6 (bound {MAX_PARALLEL}); parallel executions: {}",
        parallel.peak_in_flight(0),
        parallel.report.parallel_executions
    );

    println!("\ndashboard for {}:", demo_window().stream);
    for s in &parallel.dashboard.sensors {
        println!(
            "  {:<12} mean {:>8.2} {:<5} max {:>8.2}  anomalies {}",
            s.sensor, s.mean, s.unit, s.max, s.anomalies
        );
    }
    println!("  alerts: {}", parallel.dashboard.alerts.join(", "));

    // The same window one step at a time: the sensors' waits add up instead of overlapping.
    let sequential = run_window(&rt, demo_window(), RunOptions::new(), false).await?;
    println!(
        "\nsequential: {:.1?}, parallel: {:.1?} ({:.1}x faster), same dashboard: {}",
        sequential.report.processing_time,
        parallel.report.processing_time,
        sequential.report.processing_time.as_secs_f64()
            / parallel.report.processing_time.as_secs_f64(),
        sequential.dashboard == parallel.dashboard
    );
    Ok(())
}
