import dnsPacket from 'dns-packet'
import { isSshfpAlgorithm, isSshfpDigestType, SSHFP_DIGEST_OCTETS, type SshfpRecord } from '../domain/fingerprint/sshfp-record.js'

/* We encode queries with dns-packet, but read answers with the small wire reader below: dns-packet's
 * SSHFP decoder takes the fingerprint length from the hash type instead of RDLENGTH, so one record with
 * an unknown hash type shifts every record after it (see LIBRARIES.md). Here every RR is bounded by its
 * own RDLENGTH (RFC 1035 §4.1.3) and every read is checked against the end of the message. */

/** RFC 1035 §3.2.2 and RFC 4255 §3: SSHFP is type 44, class IN is 1; CNAME 5. */
const TYPE_SSHFP = 44
const TYPE_CNAME = 5
const CLASS_IN = 1
const HEADER_OCTETS = 12

/** RFC 8914-era guidance (DNS flag day 2020): 1232 octets avoids IP fragmentation on any path. */
export const EDNS_UDP_PAYLOAD = 1232

/** Thrown by the reader when a message that answers our query cannot be decoded. */
export class MalformedMessageError extends Error {
  override name = 'MalformedMessageError'
}

/** A query for `name` SSHFP IN, recursion desired, EDNS0 (RFC 6891) with the DO bit (RFC 4035 §3.2.1). */
export function encodeSshfpQuery(id: number, name: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    // AD in a query asks for the AD bit in the answer (RFC 6840 §5.7), even from resolvers that key it on DO.
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
    questions: [{ type: 'SSHFP', class: 'IN', name }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_UDP_PAYLOAD,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: dnsPacket.DNSSEC_OK,
        flag_do: true,
        options: [],
      },
    ],
  })
}

/** A DNS name read from the wire, in a canonical text form: lowercase, no final dot, '.' and odd bytes in a label as \DDD. */
function readName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = []
  let offset = start
  let next = -1
  let wireLength = 0
  let jumps = 0
  for (;;) {
    if (offset >= buf.length) throw new MalformedMessageError('name runs past the end of the message')
    const len = buf[offset]!
    if (len === 0) {
      if (next < 0) next = offset + 1
      break
    }
    if ((len & 0xc0) === 0xc0) {
      // RFC 1035 §4.1.4 compression pointer: only backwards, and a bounded number of them, so no loops.
      if (offset + 1 >= buf.length) throw new MalformedMessageError('compression pointer runs past the end of the message')
      const target = buf.readUInt16BE(offset) & 0x3fff
      if (target >= offset || ++jumps > 64) throw new MalformedMessageError('bad compression pointer')
      if (next < 0) next = offset + 2
      offset = target
      continue
    }
    if ((len & 0xc0) !== 0) throw new MalformedMessageError('unknown label type')
    if (offset + 1 + len > buf.length) throw new MalformedMessageError('label runs past the end of the message')
    wireLength += len + 1
    if (wireLength > 255) throw new MalformedMessageError('name longer than 255 octets')
    let label = ''
    for (const byte of buf.subarray(offset + 1, offset + 1 + len)) {
      if (byte >= 0x41 && byte <= 0x5a) label += String.fromCharCode(byte + 0x20)
      else if ((byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x5f) {
        label += String.fromCharCode(byte)
      } else label += `\\${byte.toString().padStart(3, '0')}`
    }
    labels.push(label)
    offset += 1 + len
  }
  return { name: labels.join('.'), next }
}

function canonicalQueryName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase()
}

interface Header {
  id: number
  flags: number
  qdcount: number
  ancount: number
}

function readHeader(buf: Buffer): Header {
  if (buf.length < HEADER_OCTETS) throw new MalformedMessageError('message shorter than a DNS header')
  return { id: buf.readUInt16BE(0), flags: buf.readUInt16BE(2), qdcount: buf.readUInt16BE(4), ancount: buf.readUInt16BE(6) }
}

/**
 * Whether `buf` is a response to our query: same ID, QR set, opcode QUERY, and exactly our question
 * (RFC 5452 §9.1: ID, question and source must all match). Never throws: anything else is ignored.
 */
export function answersQuery(buf: Buffer, id: number, name: string): boolean {
  try {
    const header = readHeader(buf)
    if (header.id !== id || (header.flags & 0x8000) === 0 || ((header.flags >> 11) & 0xf) !== 0) return false
    if (header.qdcount !== 1) return false
    const question = readName(buf, HEADER_OCTETS)
    if (question.next + 4 > buf.length) return false
    return (
      question.name === canonicalQueryName(name) &&
      buf.readUInt16BE(question.next) === TYPE_SSHFP &&
      buf.readUInt16BE(question.next + 2) === CLASS_IN
    )
  } catch {
    return false
  }
}

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
}

export interface SshfpResponse {
  /** RFC 1035 §4.1.1 RCODE (the low 4 bits; an EDNS extended RCODE would only make it an error we report). */
  readonly rcode: number
  readonly truncated: boolean
  readonly authenticated: boolean
  readonly records: readonly SshfpRecord[]
  readonly ignored: number
}

/**
 * Reads the SSHFP records for `name` from a response that answersQuery() accepted, following CNAMEs in the
 * answer section. Throws MalformedMessageError on anything undecodable, including an SSHFP record whose
 * fingerprint length does not match its digest type (RFC 4255 §3.1.3, RFC 6594 §3.1.2).
 */
export function readSshfpResponse(buf: Buffer, name: string): SshfpResponse {
  const header = readHeader(buf)
  const truncated = (header.flags & 0x0200) !== 0
  const authenticated = (header.flags & 0x0020) !== 0
  const rcode = header.flags & 0x000f
  let offset = readName(buf, HEADER_OCTETS).next + 4
  const owners = new Set([canonicalQueryName(name)])
  const sshfp: { owner: string; record: SshfpRecord | null }[] = []
  const cnames: { owner: string; target: string }[] = []
  for (let i = 0; i < header.ancount; i++) {
    const owner = readName(buf, offset)
    offset = owner.next
    if (offset + 10 > buf.length) throw new MalformedMessageError(`answer ${i + 1} is cut short`)
    const type = buf.readUInt16BE(offset)
    const klass = buf.readUInt16BE(offset + 2)
    const rdlength = buf.readUInt16BE(offset + 8)
    const rdataStart = offset + 10
    const rdataEnd = rdataStart + rdlength
    if (rdataEnd > buf.length) throw new MalformedMessageError(`answer ${i + 1} has RDLENGTH ${rdlength} past the end of the message`)
    offset = rdataEnd
    if (klass !== CLASS_IN) continue
    if (type === TYPE_CNAME) {
      const target = readName(buf, rdataStart)
      if (target.next !== rdataEnd) throw new MalformedMessageError(`CNAME in answer ${i + 1} does not fill its RDATA`)
      cnames.push({ owner: owner.name, target: target.name })
    } else if (type === TYPE_SSHFP) {
      if (rdlength < 2) throw new MalformedMessageError(`SSHFP in answer ${i + 1} has only ${rdlength} octets of RDATA`)
      const algorithm = buf[rdataStart]!
      const digestType = buf[rdataStart + 1]!
      const digest = buf.subarray(rdataStart + 2, rdataEnd)
      if (isSshfpDigestType(digestType) && digest.length !== SSHFP_DIGEST_OCTETS[digestType]) {
        throw new MalformedMessageError(
          `SSHFP in answer ${i + 1} has a ${digest.length}-octet digest for digest type ${digestType}, which is ${SSHFP_DIGEST_OCTETS[digestType]} octets`,
        )
      }
      // Unknown algorithms (Ed448 is 6, RFC 8709) and digest types are well-formed but not comparable: counted, not used.
      const known = isSshfpAlgorithm(algorithm) && isSshfpDigestType(digestType)
      sshfp.push({
        owner: owner.name,
        record: known ? { algorithm, digestType, fingerprint: digest.toString('hex') } : null,
      })
    }
  }
  // RFC 1034 §3.6.2: the answer may hold a CNAME chain; records count only at names on the chain from ours.
  for (let changed = true; changed; ) {
    changed = false
    for (const { owner, target } of cnames) {
      if (owners.has(owner) && !owners.has(target)) {
        owners.add(target)
        changed = true
      }
    }
  }
  const records: SshfpRecord[] = []
  let ignored = 0
  for (const { owner, record } of sshfp) {
    if (!owners.has(owner)) continue
    if (record === null) ignored++
    else if (!records.some((r) => r.algorithm === record.algorithm && r.digestType === record.digestType && r.fingerprint === record.fingerprint)) {
      records.push(record)
    }
  }
  return { rcode, truncated, authenticated, records, ignored }
}
