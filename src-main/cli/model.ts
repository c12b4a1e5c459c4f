import { parseInput } from '../../src-shared/api'
import type { ModelInfo } from '../../src-shared/domain'
import { LineupService } from '../engine/service'
import { resolveModel } from '../engine/library/models'
import { parse, UsageError } from './args'

export const modelUsage = `lineup model add <file.onnx|builtin> --db <library-file> [--name NAME] [--input-size 256x128]
                 [--mean r,g,b --std r,g,b] [--input NAME --output NAME] [--no-activate] [--json]
lineup model list --db <library-file> [--json]
lineup model activate <id|name|key-prefix> --db <library-file> [--json]

Adds an embedding model to the library: an ONNX re-ID network (checked, test-run in a separate
process, and stored in the library by its SHA-256), or "builtin", the built-in colour and texture
descriptor. The added model becomes the active one unless --no-activate. Defaults fit torchreid
and fast-reid exports: input 256x128 (height x width), ImageNet mean and std.`

function triple(flag: string, value: string | undefined): [number, number, number] | undefined {
  if (value === undefined) return undefined
  const parts = value.split(',').map(Number)
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x)))
    throw new UsageError(`${flag} takes three numbers, e.g. ${flag} 0.485,0.456,0.406 (got "${value}")`)
  return parts as [number, number, number]
}

function size(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined
  const m = /^(\d+)x(\d+)$/.exec(value)
  if (!m) throw new UsageError(`--input-size takes HEIGHTxWIDTH, e.g. 256x128 (got "${value}")`)
  return [Number(m[1]), Number(m[2])]
}

function line(m: ModelInfo): string {
  return `${m.active ? '*' : ' '} ${String(m.id).padStart(3)}  ${m.name}  ${m.kind}  dim ${m.dim}  ${m.key.slice(0, 16)}  embedded ${m.embedded}`
}

export async function modelCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  const { values, positionals } = parse(rest, {
    db: { type: 'string' },
    name: { type: 'string' },
    'input-size': { type: 'string' },
    mean: { type: 'string' },
    std: { type: 'string' },
    input: { type: 'string' },
    output: { type: 'string' },
    'no-activate': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  })
  if (!values.db) throw new UsageError('--db <library-file> is required')
  if (sub !== 'add' && sub !== 'list' && sub !== 'activate')
    throw new UsageError(`give a subcommand: add, list or activate (got ${sub ? `"${sub}"` : 'none'})`)
  const service = new LineupService({ dbPath: values.db, host: 'browser' })
  const print = (x: unknown, text: string): void => {
    process.stdout.write(values.json ? `${JSON.stringify(x)}\n` : `${text}\n`)
  }
  try {
    if (sub === 'list') {
      const models = await service['models.list']()
      print(
        models,
        models.length === 0
          ? 'no models yet: lineup model add <file.onnx> (or builtin)'
          : models.map(line).join('\n'),
      )
    } else if (sub === 'add') {
      if (positionals.length !== 1) throw new UsageError('give one model: a .onnx file, or builtin')
      const input = parseInput('models.add', {
        path: positionals[0],
        name: values.name,
        inputSize: size(values['input-size']),
        mean: triple('--mean', values.mean),
        std: triple('--std', values.std),
        input: values.input,
        output: values.output,
        activate: !values['no-activate'],
      })
      const model = await service['models.add'](input)
      print(model, `added:\n${line(model)}`)
    } else {
      if (positionals.length !== 1)
        throw new UsageError('give the model to activate: its id, name or key prefix')
      const model = await service['models.activate']({ id: resolveModel(service.db, positionals[0]!).id })
      print(model, `active:\n${line(model)}`)
    }
    return 0
  } finally {
    await service.close()
  }
}
