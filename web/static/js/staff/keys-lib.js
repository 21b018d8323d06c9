// The protocol library as the staff pages use it: the public API of protocol.js, plus the two
// structure-only parsers (no signature check) the pages need to *show* what a certificate or
// directory says. Anything trusted goes through verifyCertificate / verifyDirectory.

export * from "../protocol.js";
export { parseCertificate as parseCertificateOf, parseDirectory } from "../protocol/certificates.js";
export { parseTrustRoot } from "../protocol/trust.js";
