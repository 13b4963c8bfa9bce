<?php
// Reads a SAML 2.0 Response (XML) on stdin and prints, as JSON, what it says and whether each XML
// signature in it verifies with the IdP certificate (PEM file, argv[1]). argv[2], optional: the SP's
// private key (PEM file) to decrypt an EncryptedAssertion (rsa-oaep-mgf1p + aes128/256-cbc).
// Run by test/helpers/saml-response.ts. It checks the IdP from outside: libxml2's exclusive C14N and
// OpenSSL, not SimpleSAMLphp's signing code. Accepts only what SimpleSAMLphp sends (one Reference to the
// signed element's ID, enveloped-signature + exc-c14n, rsa-sha256, sha256): anything else is "invalid".

const DS = 'http://www.w3.org/2000/09/xmldsig#';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

function fail(string $message): never {
    fwrite(STDERR, $message . "\n");
    exit(2);
}

function load(string $xml): DOMDocument {
    if (stripos($xml, '<!DOCTYPE') !== false) fail('DOCTYPE in SAML XML');
    $doc = new DOMDocument();
    if (!$doc->loadXML($xml, LIBXML_NONET)) fail('not XML');
    return $doc;
}

function xpath(DOMDocument $doc): DOMXPath {
    $xp = new DOMXPath($doc);
    $xp->registerNamespace('ds', DS);
    $xp->registerNamespace('samlp', 'urn:oasis:names:tc:SAML:2.0:protocol');
    $xp->registerNamespace('saml', 'urn:oasis:names:tc:SAML:2.0:assertion');
    $xp->registerNamespace('xenc', 'http://www.w3.org/2001/04/xmlenc#');
    return $xp;
}

function value(DOMXPath $xp, string $query, ?DOMNode $context = null): ?string {
    $node = $xp->query($query, $context)->item(0);
    return $node === null ? null : $node->nodeValue;
}

/** Each ds:Signature of the document, verified on a copy of its own (removing one must not disturb another). */
function signatures(DOMDocument $doc, string $cert): array {
    $results = [];
    $count = xpath($doc)->query('//ds:Signature')->length;
    for ($i = 0; $i < $count; $i++) {
        $copy = load($doc->saveXML());
        $xp = xpath($copy);
        $signature = $xp->query('//ds:Signature')->item($i);
        $signed = $signature->parentNode;
        $signedInfo = $xp->query('ds:SignedInfo', $signature)->item(0);
        $references = $xp->query('ds:Reference', $signedInfo);
        $transforms = [];
        foreach ($xp->query('ds:Reference/ds:Transforms/ds:Transform/@Algorithm', $signedInfo) as $algorithm) $transforms[] = $algorithm->value;
        $signatureValid = value($xp, 'ds:CanonicalizationMethod/@Algorithm', $signedInfo) === EXC_C14N
            && value($xp, 'ds:SignatureMethod/@Algorithm', $signedInfo) === RSA_SHA256
            && openssl_verify($signedInfo->C14N(true, false), base64_decode(value($xp, 'ds:SignatureValue', $signature)), $cert, OPENSSL_ALGO_SHA256) === 1;
        $signed->removeChild($signature);
        $digestValid = $references->length === 1
            && value($xp, 'ds:Reference/@URI', $signedInfo) === '#' . $signed->getAttribute('ID')
            && $transforms === [ENVELOPED, EXC_C14N]
            && value($xp, 'ds:Reference/ds:DigestMethod/@Algorithm', $signedInfo) === SHA256
            && hash_equals(base64_decode(value($xp, 'ds:Reference/ds:DigestValue', $signedInfo)), hash('sha256', $signed->C14N(true, false), true));
        $results[] = ['element' => $signed->localName, 'valid' => $signatureValid && $digestValid];
    }
    return $results;
}

function decrypt(DOMXPath $xp, DOMNode $encrypted, string $keyFile): string {
    $key = openssl_pkey_get_private(file_get_contents($keyFile)) ?: fail('unreadable SP key');
    $wrapped = base64_decode(value($xp, './/xenc:EncryptedKey/xenc:CipherData/xenc:CipherValue', $encrypted));
    if (!openssl_private_decrypt($wrapped, $symmetric, $key, OPENSSL_PKCS1_OAEP_PADDING)) fail('the SP key does not unwrap the assertion key');
    $cipher = ['http://www.w3.org/2001/04/xmlenc#aes128-cbc' => 'aes-128-cbc', 'http://www.w3.org/2001/04/xmlenc#aes256-cbc' => 'aes-256-cbc'][value($xp, './xenc:EncryptedData/xenc:EncryptionMethod/@Algorithm', $encrypted)] ?? fail('unexpected data encryption');
    $data = base64_decode(value($xp, './xenc:EncryptedData/xenc:CipherData/xenc:CipherValue', $encrypted));
    $plain = openssl_decrypt(substr($data, 16), $cipher, $symmetric, OPENSSL_RAW_DATA | OPENSSL_ZERO_PADDING, substr($data, 0, 16));
    if ($plain === false) fail('assertion decryption failed');
    // XML Encryption padding: the last byte says how many bytes to drop (the others are arbitrary).
    return substr($plain, 0, -ord($plain[strlen($plain) - 1]));
}

$cert = file_get_contents($argv[1]) ?: fail('unreadable IdP certificate');
$doc = load(stream_get_contents(STDIN));
$xp = xpath($doc);
$response = $xp->query('/samlp:Response')->item(0) ?? fail('not a samlp:Response');
$result = [
    'destination' => $response->getAttribute('Destination'),
    'inResponseTo' => $response->hasAttribute('InResponseTo') ? $response->getAttribute('InResponseTo') : null,
    'issuer' => value($xp, '/samlp:Response/saml:Issuer'),
    'status' => value($xp, '/samlp:Response/samlp:Status/samlp:StatusCode/@Value'),
    'encrypted' => false,
    'signatures' => signatures($doc, $cert),
];

$assertions = $xp->query('/samlp:Response/saml:Assertion');
$encrypted = $xp->query('/samlp:Response/saml:EncryptedAssertion');
if ($assertions->length + $encrypted->length !== 1) fail('expected exactly one assertion');
if ($encrypted->length === 1) {
    if (!isset($argv[2])) fail('encrypted assertion and no SP key given');
    $assertionDoc = load(decrypt($xp, $encrypted->item(0), $argv[2]));
    $result['encrypted'] = true;
    $result['signatures'] = array_merge($result['signatures'], signatures($assertionDoc, $cert));
    $axp = xpath($assertionDoc);
    $assertion = $assertionDoc->documentElement;
} else {
    $axp = $xp;
    $assertion = $assertions->item(0);
}
$attributes = [];
foreach ($axp->query('saml:AttributeStatement/saml:Attribute', $assertion) as $attribute) {
    $values = [];
    foreach ($axp->query('saml:AttributeValue', $attribute) as $attributeValue) $values[] = $attributeValue->nodeValue;
    $attributes[$attribute->getAttribute('Name')] = $values;
}
$result['assertion'] = [
    'issuer' => value($axp, 'saml:Issuer', $assertion),
    'nameId' => value($axp, 'saml:Subject/saml:NameID', $assertion),
    'nameIdFormat' => value($axp, 'saml:Subject/saml:NameID/@Format', $assertion),
    'recipient' => value($axp, 'saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData/@Recipient', $assertion),
    'subjectInResponseTo' => value($axp, 'saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData/@InResponseTo', $assertion),
    'audience' => value($axp, 'saml:Conditions/saml:AudienceRestriction/saml:Audience', $assertion),
    'attributes' => (object) $attributes,
];
echo json_encode($result, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
