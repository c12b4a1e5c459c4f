/**
 * The case report of a person of interest (issue #6): one self-contained HTML file (thumbnails
 * inline, print styles, no network), printable to PDF, that someone else can verify.
 *
 * The report embeds its evidence as JSON (`<script type="application/json" id="lineup-evidence">`):
 * every crop's SHA-256 and where it was imported from, the model version and its key (file hash or
 * head hash), each mark with who and when, and the audit log's head (position and hash) at export.
 * `evidenceSha256` seals that JSON; `verifyReport` re-checks the seal, every original file on disk
 * against its SHA-256, the model, and that the audit log still holds the recorded head.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LineupError } from '../../../src-shared/errors'
import { appendAudit, readAudit, verifyAudit } from '../audit/log'
import type { Db } from '../db/open'
import { activeModel, getModel, type StoredModel } from '../library/models'
import { getPerson, markHistory } from '../library/persons'
import { getCrop, getThumb } from '../library/queries'

export const REPORT_FORMAT = 'lineup-case-report/1'

export interface EvidenceCrop {
  cropId: number
  role: 'query' | 'confirmed'
  sha256: string
  source: string
  relPath: string
  camera: string | null
  timestamp: string | null
  sequence: number | null
  frame: number | null
  markedBy: string | null
  markedAt: string | null
}

export interface Evidence {
  format: typeof REPORT_FORMAT
  generatedAt: string
  generatedBy: string
  person: { id: number; name: string; notes: string; createdAt: string; createdBy: string }
  model: { id: number; name: string; kind: string; key: string; baseKey: string | null } | null
  crops: EvidenceCrop[]
  marks: {
    cropId: number
    verdict: string
    analyst: string
    at: string
    rank: number | null
    undoOf: number | null
  }[]
  audit: { entries: number; headSeq: number; headHash: string }
}

const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function sealOf(evidence: Evidence): string {
  return createHash('sha256').update(JSON.stringify(evidence)).digest('hex')
}

/**
 * Builds the report of `personId` and appends a 'report.export' audit entry naming its seal.
 * `modelId` names the model version the matches were made with (default: the active one).
 */
export function exportReport(
  db: Db,
  personId: number,
  analyst: string,
  modelId?: number,
): { html: string; evidence: Evidence; seal: string } {
  const person = getPerson(db, personId)
  const audit = verifyAudit(db)
  if (!audit.ok)
    throw new LineupError(
      'database',
      `the audit log is damaged (${audit.reason}); a report cannot vouch for it`,
    )
  const log = readAudit(db)
  const last = log[log.length - 1]
  const model: StoredModel | null = modelId !== undefined ? getModel(db, modelId) : activeModel(db)
  const crops: EvidenceCrop[] = person.sightings.map((s) => {
    const c = getCrop(db, s.crop.id)
    return {
      cropId: c.id,
      role: s.mark ? 'confirmed' : 'query',
      sha256: c.sha256,
      source: c.sourceRoot,
      relPath: c.relPath,
      camera: c.camera,
      timestamp: c.timestamp,
      sequence: s.crop.sequence,
      frame: s.crop.frame,
      markedBy: s.mark?.analyst ?? null,
      markedAt: s.mark?.markedAt ?? null,
    }
  })
  const evidence: Evidence = {
    format: REPORT_FORMAT,
    generatedAt: new Date().toISOString(),
    generatedBy: analyst,
    person: {
      id: person.id,
      name: person.name,
      notes: person.notes,
      createdAt: person.createdAt,
      createdBy: person.createdBy,
    },
    model: model
      ? {
          id: model.id,
          name: model.name,
          kind: model.kind,
          key: model.key,
          baseKey: model.kind === 'head' ? ((model.config as { baseKey?: string }).baseKey ?? null) : null,
        }
      : null,
    crops,
    marks: markHistory(db, personId).map((m) => ({
      cropId: m.cropId,
      verdict: m.verdict,
      analyst: m.analyst,
      at: m.markedAt,
      rank: m.rank,
      undoOf: m.undoOf,
    })),
    audit: { entries: log.length, headSeq: last?.seq ?? 0, headHash: audit.headHash },
  }
  const seal = sealOf(evidence)
  const html = renderHtml(db, evidence, seal)
  db.transaction(() => {
    appendAudit(db, analyst, 'report.export', {
      personId,
      seal,
      crops: crops.length,
      model: model?.key ?? null,
    })
  })()
  return { html, evidence, seal }
}

function renderHtml(db: Db, e: Evidence, seal: string): string {
  const thumb = (cropId: number): string => {
    try {
      const t = getThumb(db, cropId)
      return `data:${t.mime};base64,${t.data.toString('base64')}`
    } catch {
      return ''
    }
  }
  const rows = e.crops
    .map(
      (c) => `<tr>
  <td><img src="${thumb(c.cropId)}" alt="crop ${c.cropId}"></td>
  <td>${c.role === 'query' ? '<b>query</b>' : 'confirmed'}<br>crop ${c.cropId}</td>
  <td>${esc(c.camera ?? '—')}</td>
  <td>${esc(c.timestamp ?? (c.sequence !== null ? `sequence ${c.sequence}, frame ${c.frame ?? '?'}` : '—'))}</td>
  <td class="mono">${esc(c.relPath)}<br><small>${esc(c.source)}</small></td>
  <td class="mono">${c.sha256}</td>
  <td>${c.markedBy ? `${esc(c.markedBy)}<br><small>${esc(c.markedAt)}</small>` : '—'}</td>
</tr>`,
    )
    .join('\n')
  const marks = e.marks
    .map(
      (m) =>
        `<tr><td>${esc(m.at)}</td><td>${esc(m.analyst)}</td><td>crop ${m.cropId}</td><td>${esc(m.verdict)}${m.undoOf ? ' (undo)' : ''}</td><td>${m.rank ?? '—'}</td></tr>`,
    )
    .join('\n')
  const json = JSON.stringify(e).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Case report — ${esc(e.person.name)}</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 24px; color: #111; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 20px 0 6px; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }
img { height: 96px; image-rendering: auto; } .mono { font-family: ui-monospace, monospace; font-size: 11px; word-break: break-all; }
.facts td:first-child { width: 180px; color: #555; } small { color: #666; }
@media print { body { margin: 0; } tr { break-inside: avoid; } }
</style>
</head>
<body>
<h1>Case report: ${esc(e.person.name)}</h1>
<table class="facts">
<tr><td>Person of interest</td><td>#${e.person.id} ${esc(e.person.name)} (created ${esc(e.person.createdAt)} by ${esc(e.person.createdBy)})</td></tr>
<tr><td>Notes</td><td>${esc(e.person.notes) || '—'}</td></tr>
<tr><td>Model version</td><td>${e.model ? `${esc(e.model.name)} (${esc(e.model.kind)})<br><span class="mono">${esc(e.model.key)}</span>${e.model.baseKey ? `<br>on base <span class="mono">${esc(e.model.baseKey)}</span>` : ''}` : 'none'}</td></tr>
<tr><td>Generated</td><td>${esc(e.generatedAt)} by ${esc(e.generatedBy)}</td></tr>
<tr><td>Audit log head at export</td><td>entry ${e.audit.headSeq} of ${e.audit.entries}: <span class="mono">${e.audit.headHash}</span></td></tr>
<tr><td>Evidence seal (SHA-256)</td><td class="mono">${seal}</td></tr>
</table>
<h2>Sightings (${e.crops.length}), in time order</h2>
<table>
<tr><th>Crop</th><th>Role</th><th>Camera</th><th>Time</th><th>Original</th><th>SHA-256 of the original</th><th>Marked by</th></tr>
${rows}
</table>
<h2>Marking history (${e.marks.length} decisions)</h2>
<table><tr><th>When</th><th>Who</th><th>Crop</th><th>Verdict</th><th>Rank</th></tr>
${marks}
</table>
<p><small>Verify with: <code>lineup report verify &lt;this file&gt; --db &lt;library&gt;</code> — re-checks the seal, every original's SHA-256 and the audit log.</small></p>
<script type="application/json" id="lineup-evidence" data-seal="${seal}">${json}</script>
</body>
</html>
`
}

export interface ReportCheck {
  ok: boolean
  seal: string
  problems: string[]
  checkedFiles: number
}

/** Re-checks a report against a library: its seal, each original on disk, the model, the audit log. */
export function verifyReport(db: Db, html: string): ReportCheck {
  const m =
    /<script type="application\/json" id="lineup-evidence" data-seal="([0-9a-f]{64})">([\s\S]*?)<\/script>/.exec(
      html,
    )
  if (!m)
    throw new LineupError('invalid-input', 'this file is not a Lineup case report (no evidence block found)')
  const claimedSeal = m[1]!
  let evidence: Evidence
  try {
    evidence = JSON.parse(m[2]!) as Evidence
  } catch {
    throw new LineupError(
      'invalid-input',
      'the report’s evidence block is not valid JSON: the file was damaged or edited',
    )
  }
  if (evidence.format !== REPORT_FORMAT)
    throw new LineupError('invalid-input', `unknown report format "${String(evidence.format)}"`)
  const problems: string[] = []
  const seal = sealOf(evidence)
  if (seal !== claimedSeal)
    problems.push('the evidence does not match its seal: the report was edited after export')
  let checkedFiles = 0
  for (const c of evidence.crops) {
    const row = db.prepare('SELECT id FROM crops WHERE sha256 = ?').get(c.sha256) as
      { id: number } | undefined
    if (!row)
      problems.push(`crop ${c.cropId} (${c.relPath}): no crop with SHA-256 ${c.sha256} in this library`)
    const file = join(c.source, ...c.relPath.split('/'))
    let bytes: Buffer
    try {
      bytes = readFileSync(file)
    } catch {
      problems.push(`crop ${c.cropId}: the original ${file} is missing`)
      continue
    }
    checkedFiles++
    const actual = createHash('sha256').update(bytes).digest('hex')
    if (actual !== c.sha256)
      problems.push(
        `crop ${c.cropId}: the original ${file} has changed (SHA-256 ${actual}, report says ${c.sha256})`,
      )
  }
  if (evidence.model && !db.prepare('SELECT 1 FROM models WHERE key = ?').get(evidence.model.key))
    problems.push(`the model version ${evidence.model.key} is not in this library`)
  const audit = verifyAudit(db)
  if (!audit.ok) problems.push(`the audit log is damaged: ${audit.reason}`)
  const head = db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(evidence.audit.headSeq) as
    { hash: string } | undefined
  if (evidence.audit.headSeq > 0 && head?.hash !== evidence.audit.headHash)
    problems.push(`the audit log no longer holds entry ${evidence.audit.headSeq} as it was at export`)
  const exported = readAudit(db).some((a) => a.action === 'report.export' && a.details.seal === claimedSeal)
  if (!exported) problems.push('the audit log has no record of this report’s export')
  return { ok: problems.length === 0, seal: claimedSeal, problems, checkedFiles }
}
