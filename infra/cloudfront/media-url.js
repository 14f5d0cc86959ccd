// CloudFront Function (runtime cloudfront-js-2.0, viewer request) on the front door's /media/*.
// It lets through only media URLs the stack signed, and serves TikTok's URL-prefix
// verification file. docs/front-door.md explains the choice of an HMAC over CloudFront signed
// URLs. The template carries this file verbatim as the FunctionCode of MediaUrlFunction, and
// Fn::Sub fills in the three dollar-brace names below. For that reason the code uses no
// template literals. infra/cloudfront/media-url.test.mjs keeps the two copies equal.
//
// A signed URL is https://DOMAIN/media/KEY?v=VERSION&exp=UNIX_SECONDS&sig=SIGNATURE, where
// SIGNATURE is base64url(HMAC-SHA256(key, "GET\n" + "/media/KEY" + "\n" + VERSION + "\n" + exp)).
// The path is signed as it is sent (percent-encoded); shared/domain/src/media_url.rs signs.
var crypto = require('crypto');

var SIGNING_KEY = '${SigningKey}';
var VERIFICATION_FILE = '${VerificationFileName}';
var VERIFICATION_TEXT = '${VerificationFileContent}';

var PREFIX = '/media/';
// Only the videos and images users hand to the stack are ever served.
var SERVED = 'uploads/';
var VERSION = /^[A-Za-z0-9._-]{1,1024}$/;
var SECONDS = /^[0-9]{1,12}$/;

function refuse(statusCode, statusDescription) {
  return {
    statusCode: statusCode,
    statusDescription: statusDescription,
    headers: { 'cache-control': { value: 'no-store' } },
  };
}

// Runtime 2.0 has no crypto.timingSafeEqual: compare every character whatever the first
// difference, so the time taken does not reveal how much of a guess was right.
function sameText(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  var difference = 0;
  for (var i = 0; i < a.length; i++) {
    difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  }
  return difference === 0;
}

function parameter(querystring, name) {
  var entry = querystring[name];
  return entry && !entry.multiValue ? entry.value : '';
}

function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.indexOf(PREFIX) !== 0) {
    return refuse(404, 'Not Found');
  }
  var key = uri.substring(PREFIX.length);
  if (VERIFICATION_FILE !== '' && key === VERIFICATION_FILE) {
    return {
      statusCode: 200,
      statusDescription: 'OK',
      headers: { 'content-type': { value: 'text/plain; charset=utf-8' } },
      body: VERIFICATION_TEXT,
    };
  }
  var version = parameter(request.querystring, 'v');
  var expires = parameter(request.querystring, 'exp');
  var signature = parameter(request.querystring, 'sig');
  if (key.indexOf(SERVED) !== 0 || !VERSION.test(version) || !SECONDS.test(expires)) {
    return refuse(403, 'Forbidden');
  }
  // Date.now() is the moment this run started, which is all an expiry needs.
  if (Number(expires) * 1000 <= Date.now()) {
    return refuse(403, 'Forbidden');
  }
  var expected = crypto
    .createHmac('sha256', SIGNING_KEY)
    .update('GET\n' + uri + '\n' + version + '\n' + expires)
    .digest('base64url');
  if (!sameText(expected, signature)) {
    return refuse(403, 'Forbidden');
  }
  // The bucket's key is the path after /media/, and the signed version is the one served.
  request.uri = '/' + key;
  request.querystring = { versionId: { value: version } };
  return request;
}
