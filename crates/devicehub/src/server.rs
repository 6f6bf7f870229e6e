//! `devicehub serve`: wires the database, the middleware and the routes into an actix-web
//! server, and drains in-flight requests on SIGTERM or SIGINT.

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    bootstrap,
    cli::ServeArgs,
    commands,
    http::{self, metrics::Metrics},
    routes,
    settings::Settings,
};

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let db = commands::open_and_migrate(&args.database)?;
    bootstrap::ensure_admin(&db, &args.admin_username, args.admin_password.as_deref())?;
    let metrics = Metrics::install()?;
    actix_web::rt::System::new().block_on(run(args, db, metrics))
}

async fn run(args: ServeArgs, db: foundation::Db, metrics: Metrics) -> anyhow::Result<()> {
    metrics.spawn_upkeep(Duration::from_secs(5));
    let db = web::Data::new(db);
    let metrics = web::Data::new(metrics);
    let hashing = web::Data::new(http::hashing::Hashing::start()?);
    let settings = web::Data::new(Settings {
        allow_registration: args.allow_registration,
        require_registration: args.require_registration,
    });
    let mut server = HttpServer::new(move || {
        let (app, api) = App::new()
            .app_data(db.clone())
            .app_data(metrics.clone())
            .app_data(hashing.clone())
            .app_data(settings.clone())
            .app_data(http::limits::json_config())
            .app_data(http::limits::query_config())
            .app_data(http::limits::path_config())
            .into_utoipa_app()
            .openapi(http::openapi::base())
            .configure(routes::configure)
            .split_for_parts();
        let routes = web::Data::new(http::fallback::RouteTable::from_openapi(&api));
        app.app_data(routes)
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
            .route("/docs", web::get().to(docs_redirect))
            .default_service(web::to(http::fallback::not_found_or_method_not_allowed))
            .wrap(actix_web::middleware::from_fn(http::limits::body_size))
            .wrap(actix_web::middleware::from_fn(http::observe::observe))
    })
    .shutdown_timeout(args.shutdown_timeout_secs)
    .disable_signals()
    .bind(args.bind)?;
    if let Some(workers) = args.workers {
        server = server.workers(workers.max(1));
    }
    for addr in server.addrs() {
        tracing::info!(%addr, "listening");
    }
    let server = server.run();
    actix_web::rt::spawn(drain_on_signal(server.handle()));
    server.await?;
    tracing::info!("server stopped");
    Ok(())
}

/// SIGTERM or SIGINT: stop accepting, let in-flight requests finish (up to the shutdown
/// timeout), then exit 0. (actix's own handling stops at once on SIGINT.)
async fn drain_on_signal(handle: actix_web::dev::ServerHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("cannot listen for SIGTERM/SIGINT; stop the server with SIGKILL");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "draining in-flight requests, then stopping");
    handle.stop(true).await;
}

/// `/docs` → `/docs/`, where the bundled Swagger UI lives.
async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}
