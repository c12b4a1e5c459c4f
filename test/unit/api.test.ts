import { describe, expect, it } from 'vitest'
import { dispatch, methods, schemas, type LineupApi } from '../../src-shared/api'
import { LineupError } from '../../src-shared/errors'

/** A service written as a class, like LineupService: its methods read `this`. */
class Fake {
  private readonly crops = 7
  async 'library.summary'() {
    return { crops: this.crops }
  }
  async 'library.crop'(input: { id: number }) {
    if (input.id === 404) throw new LineupError('not-found', 'crop 404 is not in this library')
    if (input.id === 500) throw new Error('boom')
    return { id: input.id }
  }
  async 'library.crops'(input: { offset: number; limit: number }) {
    return input
  }
}
const api = new Fake() as unknown as LineupApi

describe('dispatch: the one entry point of IPC and HTTP', () => {
  it('calls the service method with the service as `this`', async () => {
    expect(await dispatch(api, 'library.summary', {})).toEqual({ ok: true, value: { crops: 7 } })
  })

  it('fills defaults from the schema before the engine sees the input', async () => {
    expect(await dispatch(api, 'library.crops', {})).toEqual({ ok: true, value: { offset: 0, limit: 200 } })
  })

  it('refuses an unknown method and lists the known ones', async () => {
    const r = await dispatch(api, 'library.drop', {})
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error.kind).toBe('invalid-input')
      expect(r.error.message).toContain('library.summary')
    }
  })

  it('names the bad field of an invalid input', async () => {
    const r = await dispatch(api, 'library.crop', { id: -3 })
    expect(r).toMatchObject({ ok: false, error: { kind: 'invalid-input' } })
    if (!r.ok) expect(r.error.message).toMatch(/^invalid input for library\.crop: id:/)
    const extra = await dispatch(api, 'library.crop', { id: 1, sql: 'drop table crops' })
    expect(extra).toMatchObject({ ok: false, error: { kind: 'invalid-input' } })
  })

  it('carries engine errors with their kind, and anything else as internal', async () => {
    expect(await dispatch(api, 'library.crop', { id: 404 })).toEqual({
      ok: false,
      error: { kind: 'not-found', message: 'crop 404 is not in this library' },
    })
    const r = await dispatch(api, 'library.crop', { id: 500 })
    expect(r).toMatchObject({ ok: false, error: { kind: 'internal', message: 'internal error: boom' } })
  })

  it('lists exactly the methods that have schemas', () => {
    expect(methods.sort()).toEqual(Object.keys(schemas).sort())
  })
})
