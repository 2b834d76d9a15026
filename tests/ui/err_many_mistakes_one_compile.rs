use onex::prelude::*;

#[node(compute)]
fn f(x: &u64) -> u64 {
    *x
}

#[node(compute)]
fn g(a: &u64, b: &u64) -> u64 {
    a + b
}

// Several mistakes: all reported at once, and using the type afterwards adds nothing.
workflow! {
    /// Docs stay on the type.
    pub workflow Etl(raw: u64) -> u64 {
        a = f(rw);
        b = g(a, c);
        c = f(b);
        #[step(timeout = 3 seconds)]
        d = f(a);
        return e;
    }
}

async fn caller(rt: &Runtime) {
    let _ = Etl::run(rt, 1, RunOptions::new()).await;
    let _ = Etl::plan(&1);
}

fn main() {
    let _ = caller;
}
