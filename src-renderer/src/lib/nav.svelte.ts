/** The views of the app, in tab order. */
export const views = ['library', 'search', 'persons'] as const
export type View = (typeof views)[number]

function fromHash(hash: string): View {
  const name = hash.replace(/^#/, '')
  return (views as readonly string[]).includes(name) ? (name as View) : 'library'
}

/** Which view is shown; kept in the URL's #fragment so a reload reopens it. */
export class NavState {
  view = $state<View>(fromHash(window.location.hash))

  go(view: View): void {
    if (view === this.view) return
    this.view = view
    // replaceState keeps the rest of the URL (browser mode's session token) as it is.
    window.history.replaceState(window.history.state, '', `#${view}`)
  }
}
