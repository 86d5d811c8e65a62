package org.fhirconv.harness;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Extracts the official FHIR R4 XML schemas (fhir-single.xsd, fhir-base.xsd, fhir-xhtml.xsd, xml.xsd, the
 * per-resource files and the schematron files beside them) from hapi-fhir-validation-resources-r4 on the
 * classpath into a folder, then prints the absolute path of fhir-single.xsd on stdout.
 *
 * <pre>  XsdPath [DEST_DIR]     (default: target/xsd)</pre>
 *
 * The Python side (tests/support/r4_xsd.py) does the same with zipfile and does not need this class; it is here for
 * use outside Python.
 */
public final class XsdPath {

    static final String SCHEMA_FOLDER = "org/hl7/fhir/r4/model/schema/";

    private XsdPath() {
    }

    public static void main(String[] args) throws IOException, URISyntaxException {
        Path dest = Path.of(args.length > 0 ? args[0] : "target/xsd").toAbsolutePath();
        URL single = XsdPath.class.getClassLoader().getResource(SCHEMA_FOLDER + "fhir-single.xsd");
        if (single == null) {
            System.err.println("XsdPath: " + SCHEMA_FOLDER + "fhir-single.xsd is not on the classpath "
                    + "(hapi-fhir-validation-resources-r4 missing?)");
            System.exit(1);
            return;
        }
        Files.createDirectories(dest);
        if ("jar".equals(single.getProtocol())) {
            String jarUri = single.toURI().toString();
            jarUri = jarUri.substring(0, jarUri.indexOf("!/"));
            try (FileSystem fs = FileSystems.newFileSystem(java.net.URI.create(jarUri), Map.of())) {
                copyFolder(fs.getPath("/" + SCHEMA_FOLDER), dest);
            }
        } else {
            copyFolder(Path.of(single.toURI()).getParent(), dest);
        }
        System.out.println(dest.resolve("fhir-single.xsd"));
    }

    private static void copyFolder(Path folder, Path dest) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(folder)) {
            files = s.filter(Files::isRegularFile).toList();
        }
        for (Path p : files) {
            try (InputStream in = Files.newInputStream(p)) {
                Files.copy(in, dest.resolve(p.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
