//! hyper's executor and timer on the adapter's runtime.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use crate::Runtime;

/// hyper's executor (HTTP/2 spawns per-stream tasks) on the adapter's runtime.
#[derive(Clone)]
pub(crate) struct Exec<R>(pub(crate) R);

impl<R, F> hyper::rt::Executor<F> for Exec<R>
where
    R: Runtime,
    F: Future + Send + 'static,
{
    fn execute(&self, future: F) {
        self.0.spawn(async move {
            future.await;
        });
    }
}

/// hyper's timer (header-read timeout, HTTP/2 keep-alive) on the adapter's runtime.
pub(crate) struct RuntimeTimer<R>(core::marker::PhantomData<fn() -> R>);

impl<R> Default for RuntimeTimer<R> {
    fn default() -> Self {
        RuntimeTimer(core::marker::PhantomData)
    }
}

impl<R> Clone for RuntimeTimer<R> {
    fn clone(&self) -> Self {
        RuntimeTimer::default()
    }
}

pin_project_lite::pin_project! {
    struct RuntimeSleep<S> {
        #[pin]
        sleep: S,
    }
}

impl<S: Future<Output = ()>> Future for RuntimeSleep<S> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().sleep.poll(cx)
    }
}

impl<S: Future<Output = ()> + Send + Sync> hyper::rt::Sleep for RuntimeSleep<S> {}

impl<R: Runtime> hyper::rt::Timer for RuntimeTimer<R> {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RuntimeSleep {
            sleep: R::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep(deadline.saturating_duration_since(Instant::now()))
    }
}
