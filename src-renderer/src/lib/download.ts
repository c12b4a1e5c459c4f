/**
 * Offers text as a file download from the page: a Blob URL behind an `<a download>` that is
 * clicked at once. Works the same in browser mode and under Electron (its save dialog). The URL
 * is returned so the view can keep a "download again" link; revoke it with `URL.revokeObjectURL`
 * when that link goes away.
 */
export function offerDownload(text: string, fileName: string, type = 'text/html;charset=utf-8'): string {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  a.rel = 'noopener'
  a.style.display = 'none'
  document.body.append(a)
  a.click()
  a.remove()
  return url
}
