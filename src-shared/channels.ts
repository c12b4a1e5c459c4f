/** The one IPC channel that is not a method name: main → renderer events (LineupEvent). */
export const EVENT_CHANNEL = 'lineup:event'
