/**
 * An embedding extractor: turns crop images into L2-normalised vectors. Implemented by the ONNX
 * backbone (features/onnx-extractor.ts over ml/onnx) and the built-in descriptor
 * (features/builtin.ts), chosen by name from features/registry.ts.
 */
export interface Extractor {
  /**
   * What produced the vectors, recorded with every embedding and search result: the model file's
   * SHA-256 for ONNX models, `builtin:<name>@<version>` for the built-in descriptor.
   */
  readonly key: string
  /** Vector length. */
  readonly dim: number
  /**
   * Embeds a batch of encoded image files (JPEG/PNG/… bytes, as stored on disk). Each extractor
   * decodes and preprocesses as its model needs (sharp). Returns batch.length rows of `dim`
   * float32, row-major, each row L2-normalised (a zero row stays zero). Throws a LineupError
   * naming the batch index of an image it cannot decode. `cameras` (the camera name of each image,
   * null when unknown) matter only to a fine-tuned model with camera centering
   * (training/centering.ts); backbones ignore them.
   */
  embed(batch: readonly Uint8Array[], cameras?: readonly (string | null)[]): Promise<Float32Array>
  /** Releases native resources (sessions, threads). */
  close(): Promise<void>
}
