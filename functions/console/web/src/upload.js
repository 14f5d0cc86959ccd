// The Post page's uploads: Uppy with @uppy/aws-s3 multipart, every S3 request
// signed by the console (signUrl). Nothing here runs before upload() is
// called, which only the press of the page's button does (guideline 5c).

import Uppy from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';
import StatusBar from '@uppy/status-bar';

/** The server's `{"error": {"message"}}`, or the status line. */
export async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body?.error?.message) return body.error.message;
  } catch {
    // not JSON: fall through
  }
  return `The server answered ${response.status} ${response.statusText}`.trim() + '.';
}

/**
 * An uploader for the page's files: upload(files) answers their S3 keys, in
 * order, uploading each set once; forget() drops an earlier, failed set.
 */
export function createUploader({ signUrl, csrf, progress }) {
  let uppy = null; // created on the first upload (guideline 5c)
  let uploaded = null; // {files, keys}: S3 keys of an earlier upload of `files`
  const uppyIds = new Map(); // File → Uppy file id
  const requestedKeys = new Map(); // client key → File, to describe it to the signer

  async function signRequest({ method, key, uploadId, partNumber, contentType }) {
    // Only the create request names a file; later ones use the server's key.
    const file = requestedKeys.get(key);
    const response = await fetch(signUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({
        method,
        key,
        uploadId,
        partNumber,
        filename: file?.name,
        content_type: contentType ?? (file ? file.type || 'application/octet-stream' : undefined),
      }),
      credentials: 'same-origin',
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    return response.json(); // {url, key?, headers?}; a key on create is the server's choice
  }

  function getUppy() {
    if (uppy) return uppy;
    // autoProceed false: adding a file never starts a transfer; only the
    // press of the button calls upload().
    uppy = new Uppy({ autoProceed: false });
    uppy.use(AwsS3, {
      shouldUseMultipart: true,
      signRequest,
      allowedMetaFields: false,
      // A throw-away client key; the server returns the real one on create.
      generateObjectKey(uppyFile) {
        const key = `upload-${uppyFile.id}`;
        requestedKeys.set(key, uppyFile.data);
        return key;
      },
    });
    if (progress) {
      uppy.use(StatusBar, {
        target: progress,
        hideAfterFinish: false,
        hideUploadButton: true, // the page's button is the only way to start
        hideRetryButton: true, // pressing it again retries
        showProgressDetails: true,
      });
    }
    return uppy;
  }

  async function upload(files) {
    if (uploaded && uploaded.files === files) return uploaded.keys;
    const u = getUppy();
    // Files are handed to Uppy only now. The status bar's Cancel removes
    // them, so a file Uppy no longer knows is added again.
    const missing = files.filter((file) => !(uppyIds.has(file) && u.getFile(uppyIds.get(file))));
    if (missing.length) {
      u.addFiles(
        missing.map((file) => ({ name: file.name, type: file.type, data: file, source: 'post-form' })),
      );
      for (const uf of u.getFiles()) uppyIds.set(uf.data, uf.id);
    }
    const result = await u.upload(); // also retries files that failed on an earlier press
    // @uppy/aws-s3 6 clears file.s3Multipart once Complete succeeds; the final
    // key (the one the signer returned on create, echoed by S3's
    // CompleteMultipartUploadResult) is in the upload-success body.
    const keys = files.map((file) => u.getFile(uppyIds.get(file))?.response?.body?.key);
    if (keys.some((key) => !key)) {
      const failed = result?.failed?.find((f) => f.error);
      throw new Error(
        failed ? `The upload failed: ${failed.error}` : 'The upload did not finish. Press the button to try again.',
      );
    }
    uploaded = { files, keys };
    return keys;
  }

  /** A new choice of files (or a refused key) needs a new upload. */
  function forget() {
    uploaded = null;
    if (uppy) {
      uppy.cancelAll(); // forget files of an earlier (failed) press
      uppyIds.clear();
    }
  }

  return { upload, forget, forgetKeys: () => (uploaded = null) };
}
