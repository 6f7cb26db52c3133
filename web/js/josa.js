// Korean particles chosen for the sound they follow: 을/를, 이/가, 은/는, 과/와, 아/야 and 으로/로.
// A word ending in a consonant (받침) takes the first form; one ending in a vowel the second; 으로/로
// also takes 로 after ㄹ. Digits and Latin letters are read as Koreans read them aloud
// (20 이십 → 으로, 4 사 → 로, "L" 엘 → 로, "PDF" 에프 → 를).

const PAIRS = { 을: '를', 이: '가', 은: '는', 과: '와', 아: '야', 으로: '로' };

// The final sound of each digit read alone (일, 이, 삼 …): null for a vowel.
const DIGIT = { 0: 'ㅇ', 1: 'ㄹ', 2: null, 3: 'ㅁ', 4: null, 5: null, 6: 'ㄱ', 7: 'ㄹ', 8: 'ㄹ', 9: null };
// Trailing zeros name the last unit read aloud: 십, 백, 천, 만.
const UNIT = { 1: 'ㅂ', 2: 'ㄱ', 3: 'ㄴ', 4: 'ㄴ' };
// Latin letters whose English names end in a consonant as Koreans say them: 엘, 엠, 엔, 알.
const LETTER = { l: 'ㄹ', m: 'ㅁ', n: 'ㄴ', r: 'ㄹ' };
const JONG = ['', 'ㄱ', 'ㄲ', 'ㄳ', 'ㄴ', 'ㄵ', 'ㄶ', 'ㄷ', 'ㄹ', 'ㄺ', 'ㄻ', 'ㄼ', 'ㄽ', 'ㄾ', 'ㄿ', 'ㅀ', 'ㅁ', 'ㅂ', 'ㅄ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅊ', 'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ'];

/** The final consonant of how `word` ends when read aloud, or null after a vowel. */
export function finalSound(word) {
  const s = String(word).replace(/[\s)\]'"”’.,!?]+$/u, '');
  const numberEnd = s.match(/(\d+)$/);
  if (numberEnd) {
    const digits = numberEnd[1].replace(/^0+(?=\d)/, '');
    const zeros = digits.match(/0*$/)[0].length;
    if (zeros === 0 || digits === '0') return DIGIT[digits[digits.length - 1]];
    return UNIT[((zeros - 1) % 4) + 1];
  }
  const last = s[s.length - 1];
  if (last === undefined) return null;
  const code = last.codePointAt(0);
  if (code >= 0xac00 && code <= 0xd7a3) return JONG[(code - 0xac00) % 28] || null;
  return LETTER[last.toLowerCase()] ?? null;
}

/** `word` followed by the particle `particle` (given in its after-a-consonant form: 을, 이, 은, 과, 아, 으로). */
export function withParticle(word, particle) {
  const other = PAIRS[particle];
  if (other === undefined) return `${word}${particle}`;
  const sound = finalSound(word);
  const consonant = sound !== null && !(particle === '으로' && sound === 'ㄹ');
  return `${word}${consonant ? particle : other}`;
}
