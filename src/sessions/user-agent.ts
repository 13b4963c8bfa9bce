import Bowser from 'bowser';

export interface ParsedUserAgent {
  /** 'Firefox 133', 'Chrome 131'; 'unknown' when the agent names no browser. */
  readonly browser: string;
  /** 'Windows 10', 'iOS 18.1', 'Linux'; 'unknown' when it names no system. */
  readonly os: string;
}

const UNKNOWN: ParsedUserAgent = { browser: 'unknown', os: 'unknown' };

/** A raw User-Agent header as people read it (bowser's tables, which are kept up to date for us). */
export function parseUserAgent(userAgent: string): ParsedUserAgent {
  if (userAgent.trim() === '') return UNKNOWN; // bowser refuses an empty agent
  let parsed: Bowser.Parser.ParsedResult;
  try {
    parsed = Bowser.parse(userAgent);
  } catch {
    return UNKNOWN;
  }
  const browserName = parsed.browser.name ?? '';
  const major = (parsed.browser.version ?? '').split('.')[0] ?? '';
  const osName = parsed.os.name ?? '';
  // Windows says 'NT 10.0' as its version; its name for people is the versionName ('10').
  const osVersion = (osName === 'Windows' ? parsed.os.versionName : parsed.os.version) ?? '';
  return {
    browser: browserName === '' ? 'unknown' : [browserName, major].filter((part) => part !== '').join(' '),
    os: osName === '' ? 'unknown' : [osName, osVersion].filter((part) => part !== '').join(' '),
  };
}
