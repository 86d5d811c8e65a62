package org.fhirconv.harness;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import org.hl7.fhir.common.hapi.validation.support.PrePopulatedValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;

import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Offline HAPI FHIR R4 instance validator for fhirconv's test suite.
 *
 * <p>Usage:
 * <pre>
 *   ValidatorMain [--ready] [--no-warmup] [--profile-dir DIR]... [--] [FILE...]
 * </pre>
 * {@code --profile-dir DIR} (repeatable) adds the StructureDefinitions, ValueSets and CodeSystems of the {@code .json}
 * files in DIR (resources, or Bundles of them) to the validation support chain, so that resources declaring those
 * profiles in {@code meta.profile} are checked against them. Without it the harness behaves exactly as before.
 * With FILE arguments (batch mode) each file is validated in turn. Without them (stdin mode) file paths are read
 * from standard input, one per line, until EOF. Either way, for each file exactly one line of JSON is written to
 * standard output and flushed:
 * <pre>
 *   {"file": "...", "issues": [{"severity": "error", "location": "...", "line": 3, "col": 7,
 *                               "message": "...", "messageId": "..."}]}
 * </pre>
 * {@code --ready} makes stdin mode print {@code {"ready": true, "startupMillis": n}} once the validator is built and
 * warmed up, before reading the first path (so a caller can tell start-up from per-file time). Everything else
 * (HAPI's logging, anything a library prints) goes to standard error. Problems that are the harness's rather than
 * the resource's (unreadable file, unknown encoding, an exception inside the validator) are reported as a single
 * issue of severity "fatal" with a messageId starting with "HARNESS_". Exit code: 0, or 2 for a bad option.
 */
public final class ValidatorMain {

    private final FhirValidator validator;

    private ValidatorMain(FhirValidator validator) {
        this.validator = validator;
    }

    /**
     * Builds the offline R4 validator: one FhirInstanceValidator over a ValidationSupportChain, no terminology server.
     * Code systems it cannot load (SNOMED CT, LOINC, ...) give warnings; UCUM and the specification's own value sets
     * are checked for real. UnknownCodeSystemWarningValidationSupport is deprecated in HAPI 8.8 but still does its job
     * (and must stay last in the chain).
     */
    static FhirValidator buildValidator() {
        return buildValidator(List.of());
    }

    /** The same validator, plus the conformance resources of {@code profileDirs} (first in the chain). */
    @SuppressWarnings("deprecation")
    static FhirValidator buildValidator(List<Path> profileDirs) {
        FhirContext ctx = FhirContext.forR4Cached();

        UnknownCodeSystemWarningValidationSupport unknownCodeSystems = new UnknownCodeSystemWarningValidationSupport(ctx);
        unknownCodeSystems.setNonExistentCodeSystemSeverity(IValidationSupport.IssueSeverity.WARNING);

        List<IValidationSupport> supports = new ArrayList<>();
        if (!profileDirs.isEmpty()) {
            supports.add(loadProfiles(ctx, profileDirs));
        }
        supports.add(new DefaultProfileValidationSupport(ctx));
        supports.add(new CommonCodeSystemsTerminologyService(ctx));
        supports.add(new InMemoryTerminologyServerValidationSupport(ctx));
        supports.add(new SnapshotGeneratingValidationSupport(ctx));
        supports.add(unknownCodeSystems);
        ValidationSupportChain chain = new ValidationSupportChain(supports.toArray(new IValidationSupport[0]));

        FhirInstanceValidator instanceValidator = new FhirInstanceValidator(chain);

        FhirValidator validator = ctx.newValidator();
        validator.registerValidatorModule(instanceValidator);
        return validator;
    }

    /** StructureDefinitions, ValueSets and CodeSystems from the .json files of each folder (Bundles unpacked). */
    static PrePopulatedValidationSupport loadProfiles(FhirContext ctx, List<Path> dirs) {
        PrePopulatedValidationSupport support = new PrePopulatedValidationSupport(ctx);
        int count = 0;
        for (Path dir : dirs) {
            List<Path> files;
            try (Stream<Path> listing = Files.list(dir)) {
                files = listing.filter(p -> p.toString().endsWith(".json")).sorted().toList();
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read profile folder " + dir + ": " + e, e);
            }
            for (Path file : files) {
                IBaseResource resource;
                try {
                    resource = ctx.newJsonParser().parseResource(Files.readString(file, StandardCharsets.UTF_8));
                } catch (IOException | RuntimeException e) {
                    System.err.println("[fhirconv-harness] skipping " + file + ": " + e);
                    continue;
                }
                List<IBaseResource> found = new ArrayList<>();
                if (resource instanceof Bundle bundle) {
                    for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
                        if (entry.getResource() != null) {
                            found.add(entry.getResource());
                        }
                    }
                } else {
                    found.add(resource);
                }
                for (IBaseResource one : found) {
                    String type = ctx.getResourceType(one);
                    if (type.equals("StructureDefinition") || type.equals("ValueSet") || type.equals("CodeSystem")) {
                        support.addResource(one);
                        count++;
                    }
                }
            }
        }
        System.err.println("[fhirconv-harness] loaded " + count + " conformance resources from " + dirs);
        return support;
    }

    public static void main(String[] args) throws IOException {
        long started = System.nanoTime();

        // stdout carries only our JSON lines: keep a private handle to it and send anything else printed there
        // (some validator code paths use System.out directly) to stderr.
        Writer out = new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8);
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
        guardNetwork();

        boolean ready = false;
        boolean warmup = true;
        List<String> files = new ArrayList<>();
        List<Path> profileDirs = new ArrayList<>();
        boolean optionsDone = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!optionsDone && arg.startsWith("--")) {
                switch (arg) {
                    case "--" -> optionsDone = true;
                    case "--ready" -> ready = true;
                    case "--no-warmup" -> warmup = false;
                    case "--profile-dir" -> {
                        if (i + 1 >= args.length || !Files.isDirectory(Path.of(args[i + 1]))) {
                            System.err.println("ValidatorMain: --profile-dir needs an existing folder");
                            System.exit(2);
                        }
                        profileDirs.add(Path.of(args[++i]));
                    }
                    default -> {
                        System.err.println("ValidatorMain: unknown option " + arg
                                + "\nusage: ValidatorMain [--ready] [--no-warmup] [--profile-dir DIR]... [--] [FILE...]");
                        System.exit(2);
                    }
                }
            } else {
                files.add(arg);
            }
        }

        ValidatorMain harness = new ValidatorMain(buildValidator(profileDirs));
        System.err.println("[fhirconv-harness] validator built after " + (System.nanoTime() - started) / 1_000_000L + " ms");
        if (warmup) {
            harness.warmUp();
        }
        long startupMillis = (System.nanoTime() - started) / 1_000_000L;
        System.err.println("[fhirconv-harness] validator ready after " + startupMillis + " ms");

        if (!files.isEmpty()) {
            for (String file : files) {
                writeLine(out, harness.validateFile(file));
            }
        } else {
            if (ready) {
                writeLine(out, "{\"ready\": true, \"startupMillis\": " + startupMillis + "}");
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                if (line.endsWith("\r")) {
                    line = line.substring(0, line.length() - 1);
                }
                if (line.isBlank()) {
                    continue;
                }
                writeLine(out, harness.validateFile(line));
            }
        }
        out.flush();
        // HAPI/validator-core may leave non-daemon pools behind; do not let them keep the JVM alive.
        System.exit(0);
    }

    private static void writeLine(Writer out, String json) throws IOException {
        out.write(json);
        out.write('\n');
        out.flush();
    }

    /**
     * The harness must never reach the network. Validator code that goes through the JDK's URL machinery is routed
     * to a dead local proxy (fails at once instead of hanging), and the attempt is reported on stderr.
     */
    private static void guardNetwork() {
        ProxySelector.setDefault(new ProxySelector() {
            @Override
            public List<Proxy> select(URI uri) {
                System.err.println("[fhirconv-harness] BLOCKED network access to " + uri);
                return List.of(new Proxy(Proxy.Type.HTTP, new InetSocketAddress("127.0.0.1", 9)));
            }

            @Override
            public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
                // nothing to do: the failure is the point
            }
        });
    }

    /** Validates small JSON and XML resources once so the first real file pays no class-loading/snapshot cost. */
    private void warmUp() {
        StringBuilder took = new StringBuilder();
        for (String sample : WarmupSamples.ALL) {
            long t0 = System.nanoTime();
            try {
                validator.validateWithResult(sample);
            } catch (RuntimeException e) {
                System.err.println("[fhirconv-harness] warm-up failed (continuing): " + e);
            }
            took.append(took.length() == 0 ? "" : ", ").append((System.nanoTime() - t0) / 1_000_000L).append(" ms");
        }
        System.err.println("[fhirconv-harness] warm-up samples took " + took);
    }

    /** Validates one file; always returns one JSON object (never throws). */
    String validateFile(String file) {
        List<String> issues = new ArrayList<>();
        String text;
        try {
            text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            issues.add(harnessIssue("HARNESS_IO", "cannot read file: " + e));
            return result(file, issues);
        }
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
            text = text.substring(1); // UTF-8 byte order mark
        }
        String encoding = detectEncoding(file, text);
        if (encoding == null) {
            issues.add(harnessIssue("HARNESS_ENCODING",
                    "neither JSON nor XML (content starts with neither '{' nor '<', and the extension tells nothing)"));
            return result(file, issues);
        }
        if (!startsLike(text, encoding)) {
            issues.add(harnessIssue("HARNESS_ENCODING", "file extension says " + encoding
                    + " but the content does not start like " + encoding));
            return result(file, issues);
        }
        try {
            ValidationResult vr = validator.validateWithResult(text);
            for (SingleValidationMessage m : vr.getMessages()) {
                issues.add(issue(m));
            }
        } catch (RuntimeException | StackOverflowError e) {
            StringWriter sw = new StringWriter();
            e.printStackTrace(new PrintWriter(sw));
            System.err.println("[fhirconv-harness] validator threw on " + file + ":\n" + sw);
            issues.add(harnessIssue("HARNESS_EXCEPTION", "validator threw " + e));
        }
        return result(file, issues);
    }

    /** "json" or "xml": by content (first non-blank character), else by extension; null when neither tells. */
    static String detectEncoding(String file, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isWhitespace(c)) {
                continue;
            }
            if (c == '{') {
                return "json";
            }
            if (c == '<') {
                return "xml";
            }
            break;
        }
        String lower = file.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".json")) {
            return "json";
        }
        if (lower.endsWith(".xml")) {
            return "xml";
        }
        return null;
    }

    private static boolean startsLike(String text, String encoding) {
        String t = text.stripLeading();
        return encoding.equals("json") ? t.startsWith("{") : t.startsWith("<");
    }

    private static String issue(SingleValidationMessage m) {
        StringBuilder sb = new StringBuilder(256);
        sb.append("{\"severity\": ").append(quote(m.getSeverity() == null ? "information" : m.getSeverity().getCode()));
        sb.append(", \"location\": ").append(quote(m.getLocationString()));
        sb.append(", \"line\": ").append(m.getLocationLine() == null ? "null" : m.getLocationLine().toString());
        sb.append(", \"col\": ").append(m.getLocationCol() == null ? "null" : m.getLocationCol().toString());
        sb.append(", \"message\": ").append(quote(m.getMessage()));
        sb.append(", \"messageId\": ").append(quote(m.getMessageId()));
        return sb.append('}').toString();
    }

    private static String harnessIssue(String id, String message) {
        return "{\"severity\": \"fatal\", \"location\": null, \"line\": null, \"col\": null, \"message\": "
                + quote(message) + ", \"messageId\": " + quote(id) + "}";
    }

    private static String result(String file, List<String> issues) {
        return "{\"file\": " + quote(file) + ", \"issues\": [" + String.join(", ", issues) + "]}";
    }

    /** JSON string literal (or null). Escapes control characters and the line/paragraph separators. */
    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
