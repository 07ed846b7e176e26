// A short two-note chime made with Web Audio: no audio files, nothing to load.
let context;

/** Plays the new-message chime (silently does nothing where audio is not allowed yet). */
export function chime() {
  try {
    context ??= new AudioContext();
    const now = context.currentTime;
    for (const [index, frequency] of [880, 1320].entries()) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + index * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.15, now + index * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + index * 0.12 + 0.25);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(now + index * 0.12);
      oscillator.stop(now + index * 0.12 + 0.3);
    }
  } catch {
    // Autoplay policy or no audio device: the chime is a courtesy, not a requirement.
  }
}
