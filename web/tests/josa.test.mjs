// The particle helper over words a native writer would check: Hangul with and without 받침,
// ㄹ before 으로/로, numbers read aloud (20 이십, 100 백, 1000 천), Latin letters and codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withParticle } from '../js/josa.js';

test('particles follow the sound they attach to', () => {
  const cases = [
    ['선거', '을', '선거를'], ['명부', '을', '명부를'], ['영수증', '을', '영수증을'],
    ['서울', '으로', '서울로'], ['부산', '으로', '부산으로'], ['제주', '으로', '제주로'],
    ['종로구', '이', '종로구가'], ['관리위원', '이', '관리위원이'], ['한빛공원', '은', '한빛공원은'],
    ['찬성', '과', '찬성과'], ['반대', '과', '반대와'], ['민수', '아', '민수야'], ['영희', '아', '영희야'],
    ['항목 20', '으로', '항목 20으로'], ['항목 4', '으로', '항목 4로'], ['항목 7', '으로', '항목 7로'],
    ['항목 1', '은', '항목 1은'], ['항목 2', '은', '항목 2는'], ['항목 3', '을', '항목 3을'],
    ['항목 6', '이', '항목 6이'], ['항목 9', '이', '항목 9가'], ['100', '이', '100이'],
    ['1000', '으로', '1000으로'], ['10000', '이', '10000이'], ['0', '으로', '0으로'],
    ['010-****-1234', '으로', '010-****-1234로'], ['UTF-8', '으로', 'UTF-8로'], ['CP949', '으로', 'CP949로'],
    ['JSON', '이', 'JSON이'], ['PDF', '을', 'PDF를'], ['URL', '을', 'URL을'], ['HTML', '으로', 'HTML로'],
    ['demo-2026', '을', 'demo-2026을'], ['ABCDE-FGHIJ', '을', 'ABCDE-FGHIJ를'],
    ['"한표"', '이', '"한표"가'], ['(2026)', '은', '(2026)은'],
  ];
  for (const [word, particle, expected] of cases) {
    assert.equal(withParticle(word, particle), expected, `${word} + ${particle}`);
  }
});

test('an unknown particle is attached as it is', () => {
  assert.equal(withParticle('선거', '의'), '선거의');
});
