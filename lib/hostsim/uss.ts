// Unformatted System Services (USS) on the SSCP-LU session, the way VTAM does it for a 3270 LU
// with no LU-LU session: the SSCP shows the logon screen (session-level USS message 10), reads a
// character-coded command typed by the terminal user, and turns `LOGON APPLID(name)` into a
// session with that application (z/OS SNA Messages "USS messages to terminal users": USSMSG00-14
// in the IBM-supplied session-level table ISTINCDT, "issued in response to … a character-coded
// logon or logoff command"). Message texts below follow the ISTINCDT wording as far as the
// reference goes; the logon-failed text is this simulator's own.
//
// Character-coded SSCP-LU data (Hercules comm3705.c sends typed logon text on the unbound SSCP-LU
// session as character-coded FMD, FI=0): plain EBCDIC text, lines separated by the New Line
// format control X'15' (GA23-0059). No 3270 command, WCC or buffer addresses.
import { decode, encode } from '../datastream/index.js'

/** 3270 New Line format control, as interpreted in SSCP-LU mode (unformatted). */
export const EBCDIC_NL = 0x15

export type UssCommand =
  | { kind: 'logon', applid: string | undefined, data: string | undefined, logmode: string | undefined }
  | { kind: 'logoff' }
  | { kind: 'empty' }
  | { kind: 'clear' }
  | { kind: 'invalid', message: string }

export const USS_MESSAGES = {
  /** USSMSG01 (operator equivalent IST450I). */
  syntax: (cmd: string) => `${cmd} INVALID COMMAND SYNTAX`,
  /** USSMSG02 (IST451I). */
  unrecognized: (cmd: string) => `${cmd} UNRECOGNIZED`,
  /** USSMSG03 (IST452I). */
  parameter: (p: string) => `${p} PARAMETER UNRECOGNIZED`,
  /** USSMSG04 (IST453I). */
  value: (p: string) => `${p} PARAMETER VALUE INVALID`,
  /** USSMSG07: no session to log off from. */
  notBound: () => 'SESSION NOT BOUND',
  /** USSMSG12 (IST456I). */
  omitted: (p: string) => `${p} REQUIRED PARAMETER OMITTED`,
  /** Simulator message: the application (or a fault) refused the logon; VTAM shows the sense. */
  logonFailed: (appl: string, sense: string) => `LOGON TO ${appl} FAILED, SENSE ${sense}`,
  /** Simulator message: the session with an application ended (shown above the logon screen). */
  sessionEnded: (appl: string) => `SESSION WITH ${appl} ENDED`,
} as const

const APPL_NAME = /^[A-Z@#$][A-Z0-9@#$]{0,7}$/

/**
 * Parses one typed USS command. Accepted forms (ISTINCDT LOGON/LOGOFF syntax):
 * `LOGON APPLID(name) [LOGMODE(mode)] [DATA(text)]`, `LOGON APPLID=name`, `LOGON` (default
 * application), `LOGOFF`, and a bare application name when it is one of `applications` (the
 * USSCMD shorthand many installations define, e.g. `TSO`).
 */
export function parseUssCommand (input: string, applications: readonly string[] = []): UssCommand {
  const text = input.trim()
  if (text === '') return { kind: 'empty' }
  const upper = text.toUpperCase()
  const verbMatch = /^(\S+)\s*(.*)$/s.exec(upper)!
  const verb = verbMatch[1]
  const rest = text.slice(text.length - verbMatch[2].length)
  if (verb === 'LOGOFF') {
    return verbMatch[2].trim() === '' || /^TYPE\s*[(=]\s*(UNCOND|COND)\)?$/.test(verbMatch[2].trim())
      ? { kind: 'logoff' }
      : { kind: 'invalid', message: USS_MESSAGES.syntax('LOGOFF') }
  }
  if (verb !== 'LOGON') {
    if (verbMatch[2].trim() === '' && applications.includes(verb)) {
      return { kind: 'logon', applid: verb, data: undefined, logmode: undefined }
    }
    return { kind: 'invalid', message: USS_MESSAGES.unrecognized(verb.slice(0, 16)) }
  }
  const params = parseParams(rest)
  if (params === undefined) return { kind: 'invalid', message: USS_MESSAGES.syntax('LOGON') }
  let applid: string | undefined
  let data: string | undefined
  let logmode: string | undefined
  for (const [key, value] of params) {
    switch (key) {
      case 'APPLID':
        if (!APPL_NAME.test(value.toUpperCase())) return { kind: 'invalid', message: USS_MESSAGES.value('APPLID') }
        applid = value.toUpperCase()
        break
      case 'LOGMODE':
        if (!APPL_NAME.test(value.toUpperCase())) return { kind: 'invalid', message: USS_MESSAGES.value('LOGMODE') }
        logmode = value.toUpperCase()
        break
      case 'DATA':
        data = value
        break
      default:
        return { kind: 'invalid', message: USS_MESSAGES.parameter(key.slice(0, 16)) }
    }
  }
  return { kind: 'logon', applid, data, logmode }
}

/** `KEY(value)` or `KEY=value` pairs separated by blanks or commas; undefined on bad syntax. */
function parseParams (text: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = []
  let i = 0
  const skip = (): void => { while (i < text.length && /[\s,]/.test(text[i])) i++ }
  skip()
  while (i < text.length) {
    const key = /^[A-Za-z]+/.exec(text.slice(i))
    if (key === null) return undefined
    i += key[0].length
    while (i < text.length && text[i] === ' ') i++
    let value: string
    if (text[i] === '(') {
      const close = text.indexOf(')', i + 1)
      if (close === -1) return undefined
      value = text.slice(i + 1, close).trim().replace(/^'(.*)'$/s, '$1')
      i = close + 1
    } else if (text[i] === '=') {
      i++
      const v = /^[^\s,]*/.exec(text.slice(i))![0]
      if (v === '') return undefined
      value = v
      i += v.length
    } else {
      return undefined
    }
    out.push([key[0].toUpperCase(), value])
    skip()
  }
  return out
}

export interface LogonScreenOptions {
  host: string
  lu: string
  applications: readonly string[]
  /** Optional USS message shown above the prompt (error, "session ended"). */
  message?: string
}

/** USSMSG10, the logon screen: shown at SSCP-LU session start and after a session ends. */
export function logonScreenLines (opts: LogonScreenOptions): string[] {
  const lines = [
    `tn3270-lb host simulator ${opts.host}`,
    `TERMINAL ${opts.lu}`,
    '',
    `APPLICATIONS: ${opts.applications.join(' ')}`,
    'TYPE LOGON APPLID(name) AND PRESS ENTER',
  ]
  if (opts.message !== undefined) lines.push('', opts.message)
  lines.push('')
  return lines
}

/** Character-coded SSCP-LU data: EBCDIC lines joined by NL (X'15'). */
export function encodeSscpLuText (lines: readonly string[]): Buffer {
  const parts: Buffer[] = []
  lines.forEach((line, i) => {
    if (i > 0) parts.push(Buffer.of(EBCDIC_NL))
    parts.push(encode(line))
  })
  return Buffer.concat(parts)
}

const AID_ENTER = 0x7d
const AID_CLEAR = 0x6d
const ORDER_SBA = 0x11

/**
 * Text of a character-coded SSCP-LU request from the terminal. A 3274 (and x3270 in SSCP-LU
 * mode) sends the typed characters only; a gateway that forwards a Read Modified instead sends
 * `AID cursor [SBA addr] data` — both are accepted (ENTER X'7D' cannot start a command: it is an
 * apostrophe). A lone CLEAR AID (short read, GA23-0059) asks for the screen again.
 */
export function decodeSscpLuInput (bytes: Uint8Array): UssCommand | string {
  let b = Buffer.from(bytes)
  if (b.length === 1 && b[0] === AID_CLEAR) return { kind: 'clear' }
  if (b.length >= 3 && b[0] === AID_ENTER) {
    b = b.subarray(3)
    if (b.length >= 3 && b[0] === ORDER_SBA) b = b.subarray(3)
  }
  const text = decode(b.filter(c => c !== 0x00 && c !== ORDER_SBA)).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
  return text
}
