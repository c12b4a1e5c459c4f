/**
 * What a finished fine-tune's camera centering was, in a sentence for the run's dialog. `cameras`
 * is the summary's `cameraCentering`: the cameras with a mean of their own, null when the run did
 * not centre, absent (undefined) in runs stored before centering existed, which did not centre.
 */
export function centeringNote(cameras: readonly string[] | null | undefined): string {
  if (!cameras) return 'No camera centering.'
  if (cameras.length === 0) return "Centred on the library's mean (no camera has enough crops for its own)."
  return `Centred on the means of ${cameras.length} camera${cameras.length === 1 ? '' : 's'} (${cameras.join(', ')}).`
}
