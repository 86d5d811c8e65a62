package org.fhirconv.harness.server;

import ca.uhn.fhir.rest.server.RestfulServer;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;

/**
 * Runs the harness server: {@code ServerMain <port>} serves FHIR R4 at
 * {@code http://127.0.0.1:<port>/fhir}, on the loopback interface only.
 *
 * <p>It stops on SIGTERM/SIGINT (Jetty first, then the Spring context) and exits with status 1 when it
 * cannot start (port in use, Spring or HAPI configuration error).
 */
public final class ServerMain {

	private static final Logger LOG = LoggerFactory.getLogger(ServerMain.class);
	static final String HOST = "127.0.0.1";
	static final String FHIR_PATH = "/fhir";

	private ServerMain() {}

	public static void main(String[] args) throws Exception {
		if (args.length != 1) {
			System.err.println("usage: ServerMain <port>");
			System.exit(2);
		}
		int port;
		try {
			port = Integer.parseInt(args[0]);
		} catch (NumberFormatException e) {
			System.err.println("port must be a number: " + args[0]);
			System.exit(2);
			return;
		}

		try {
			run(port);
		} catch (Throwable e) {
			// Spring and HAPI leave non-daemon threads behind: without exit() a failed start would hang.
			LOG.error("The harness server failed to start", e);
			System.exit(1);
		}
	}

	private static void run(int port) throws Exception {
		long started = System.nanoTime();

		Server jetty = new Server();
		ServerConnector connector = new ServerConnector(jetty);
		connector.setHost(HOST);
		connector.setPort(port);
		jetty.addConnector(connector);
		// Bind now, so that a port in use fails at once rather than after the Spring start-up.
		connector.open();

		AnnotationConfigApplicationContext spring = new AnnotationConfigApplicationContext(HapiServerConfig.class);
		RestfulServer restfulServer = spring.getBean(RestfulServer.class);

		ServletContextHandler context = new ServletContextHandler();
		context.setContextPath("/");
		ServletHolder holder = new ServletHolder("fhir", restfulServer);
		// Initialise the FHIR servlet while starting, not on the first request.
		holder.setInitOrder(1);
		context.addServlet(holder, FHIR_PATH + "/*");
		jetty.setHandler(context);
		jetty.setStopTimeout(5_000);

		Runtime.getRuntime().addShutdownHook(new Thread(() -> {
			LOG.info("Stopping the harness server");
			try {
				jetty.stop();
			} catch (Exception e) {
				LOG.warn("Jetty did not stop cleanly", e);
			}
			spring.close();
		}, "harness-shutdown"));

		jetty.start();
		long millis = (System.nanoTime() - started) / 1_000_000;
		String base = "http://" + HOST + ":" + connector.getLocalPort() + FHIR_PATH;
		LOG.info("HAPI FHIR harness server ready at {} after {} ms", base, millis);
		System.out.println("READY " + base);
		System.out.flush();
		jetty.join();
	}
}
