package org.batteryloop.interop.tck;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.ClassNameFilter;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs the Eclipse Dataspace TCK's DSP verification tests (the modules on the class path) against a
 * connector under test, configured by a properties file, and writes one line per test:
 * {@code status<TAB>test class<TAB>display name<TAB>message}.
 *
 * <p>Usage: {@code RunDspTck <tck.properties> <results.tsv> [package or test class]}; exit code 0 when the run completed
 * (failures are in the results file), 2 on bad usage.
 */
public final class RunDspTck {
    private RunDspTck() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: RunDspTck <tck.properties> <results.tsv> [package or test class]");
            System.exit(2);
        }
        var props = new Properties();
        try (var in = new InputStreamReader(new FileInputStream(args[0]), StandardCharsets.UTF_8)) {
            props.load(in);
        }
        // the TCK reads its configuration (and the per-test dataset, offer and agreement ids) from system properties
        props.stringPropertyNames().forEach(k -> System.setProperty(k, props.getProperty(k)));
        System.setProperty("dataspacetck.launcher", props.getProperty("dataspacetck.launcher",
                "org.eclipse.dataspacetck.dsp.system.DspSystemLauncher"));
        var pkg = args.length > 2 ? args[2] : "org.eclipse.dataspacetck.dsp.verification";

        var request = LauncherDiscoveryRequestBuilder.request()
                .selectors(pkg.endsWith("Test") ? DiscoverySelectors.selectClass(pkg) : DiscoverySelectors.selectPackage(pkg))
                .filters(ClassNameFilter.includeClassNamePatterns(".*Test"))
                .build();
        var out = Files.newBufferedWriter(Path.of(args[1]), StandardCharsets.UTF_8);
        try (var writer = new PrintWriter(out)) {
            var listener = new TestExecutionListener() {
                private TestPlan plan;

                @Override
                public void testPlanExecutionStarted(TestPlan testPlan) {
                    plan = testPlan;
                }

                @Override
                public void executionSkipped(TestIdentifier id, String reason) {
                    if (id.isTest()) {
                        write(id, "SKIPPED", reason);
                    }
                }

                @Override
                public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                    if (id.isTest() || result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                        var message = result.getThrowable().map(t -> t.getClass().getSimpleName() + ": " + t.getMessage())
                                .orElse("");
                        write(id, result.getStatus().name(), message);
                    }
                }

                private void write(TestIdentifier id, String status, String message) {
                    var parent = plan.getParent(id).map(TestIdentifier::getDisplayName).orElse("");
                    writer.println(status + "\t" + clean(parent) + "\t" + clean(id.getDisplayName()) + "\t" + clean(message));
                    writer.flush();
                    System.out.println("[tck] " + status + " " + id.getDisplayName());
                }

                private String clean(String s) {
                    return s == null ? "" : s.replaceAll("[\\t\\r\\n]+", " ");
                }
            };
            var launcher = LauncherFactory.create();
            launcher.execute(request, listener);
        }
    }
}
