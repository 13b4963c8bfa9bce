import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CapsuleError } from '../../errors.js';
import { carriesCredentials } from '../../support/loopback.js';

/** A farm as a set of members addressed by URL: all the farm commands need to reach it from anywhere. */
export const FARM_FORMAT_V2 = 'capsule-farm/2';

const memberSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a name of lower-case letters, digits and dashes'),
  role: z.enum(['author', 'publish']),
  url: z
    .string()
    .url()
    .refine((url) => /^https?:\/\/[^/]+\/?$/.test(url), 'an http(s) URL with no path, e.g. http://10.0.1.1:4503')
    // Farm commands print members' URLs in their messages: a password in one would be shown.
    .refine((url) => !carriesCredentials(url), 'a URL without user:password@ (give credentials with --password-stdin or --api-key-file)'),
});

// Other top-level fields are allowed and ignored: `farm init` keeps its `local` part (homes, load balancer) there.
const manifestSchema = z
  .object({ format: z.literal(FARM_FORMAT_V2), members: z.array(memberSchema).min(1).max(64) })
  .superRefine((manifest, context) => {
    const names = new Set<string>();
    for (const member of manifest.members) {
      if (names.has(member.name)) context.addIssue({ code: 'custom', path: ['members'], message: `the name '${member.name}' is used twice` });
      names.add(member.name);
    }
    const byAddress = new Map<string, string>();
    for (const member of manifest.members) {
      // The same instance twice would be counted, rotated and balanced twice: refuse it, naming both.
      if (!URL.canParse(member.url)) continue; // reported by the url check
      const address = new URL(member.url).origin;
      const first = byAddress.get(address);
      if (first !== undefined) context.addIssue({ code: 'custom', path: ['members'], message: `${first} and ${member.name} have the same URL ${address}; give each member its own` });
      else byAddress.set(address, member.name);
    }
    if (manifest.members.filter((member) => member.role === 'author').length > 1) {
      context.addIssue({ code: 'custom', path: ['members'], message: 'more than one member has the role author (the farm lock is held on the author)' });
    }
  });

export type FarmManifestV2 = z.infer<typeof manifestSchema>;
export type FarmMemberEntry = FarmManifestV2['members'][number];

export function parseManifestV2(text: string, file: string): FarmManifestV2 {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CapsuleError('INVALID_ARGUMENT', `${file} is not JSON; write {"format":"${FARM_FORMAT_V2}","members":[{"name","role","url"}, …]}`);
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new CapsuleError('INVALID_ARGUMENT', `${file} is not a ${FARM_FORMAT_V2} manifest (${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'})`);
  }
  return { ...result.data, members: result.data.members.map((member) => ({ ...member, url: member.url.replace(/\/$/, '') })) };
}

export function readManifestV2(file: string): FarmManifestV2 {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CapsuleError('INVALID_ARGUMENT', code === 'ENOENT' ? `no manifest at ${file}` : `cannot read the manifest ${file} (${code})`);
  }
  return parseManifestV2(text, file);
}

/** The member that holds the farm lock: the author, else the first member. */
export function lockMember(manifest: FarmManifestV2): FarmMemberEntry {
  return manifest.members.find((member) => member.role === 'author') ?? manifest.members[0]!;
}
