//! Where everyone is: a seeded procedural model of play, or real TRACAB trajectories.
//!
//! The procedural model keeps two 4-4-2 blocks that shift with the ball, sends the nearest
//! players of each side to it, and moves the ball by dribbles and passes that roll out under
//! friction. Players accelerate at most 4 m/s^2 and run at most 7-9 m/s; passes leave at 10-26 m/s.

use std::path::Path;

use super::rng::Rng;

/// Pitch length and width in metres.
pub const PITCH_LENGTH_M: f32 = 105.0;
/// Pitch width.
pub const PITCH_WIDTH_M: f32 = 68.0;

/// What an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Outfield player.
    Player,
    /// Goalkeeper.
    Goalkeeper,
    /// Referee.
    Referee,
    /// The ball.
    Ball,
}

impl Role {
    /// MOTChallenge class id written in gt.txt (1 player, 2 goalkeeper, 3 referee, 4 ball).
    pub fn mot_class(self) -> u32 {
        match self {
            Role::Player => 1,
            Role::Goalkeeper => 2,
            Role::Referee => 3,
            Role::Ball => 4,
        }
    }

    /// Name in the pitch file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Player => "player",
            Role::Goalkeeper => "goalkeeper",
            Role::Referee => "referee",
            Role::Ball => "ball",
        }
    }
}

/// One object's state in one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entity {
    /// Ground-truth identity (1..=22 players, 23 referee, 99 ball).
    pub id: u32,
    /// Team: 0 = A, 1 = B, 2 = neither.
    pub team: u8,
    /// Role.
    pub role: Role,
    /// Position, metres (corner origin).
    pub x: f32,
    /// Position, metres.
    pub y: f32,
    /// Height above the pitch (the ball in the air), metres.
    pub z: f32,
    /// Speed, m/s.
    pub speed: f32,
}

/// Something that yields every object's state frame by frame.
pub trait Motion {
    /// Advances by one frame and returns all objects.
    fn step(&mut self) -> &[Entity];
}

/// Ball id in ground truth.
pub const BALL_ID: u32 = 99;
/// Referee id in ground truth.
pub const REFEREE_ID: u32 = 23;

/// 4-4-2 slots for a team attacking +x, as fractions of its half-length and of the width.
const FORMATION: [(f32, f32); 11] = [
    (0.05, 0.50),
    (0.30, 0.15),
    (0.25, 0.38),
    (0.25, 0.62),
    (0.30, 0.85),
    (0.55, 0.15),
    (0.50, 0.40),
    (0.50, 0.60),
    (0.55, 0.85),
    (0.80, 0.40),
    (0.80, 0.60),
];

#[derive(Clone, Debug)]
struct Body {
    x: f32,
    y: f32,
    vx: f32,
    vy: f32,
    max_speed: f32,
}

/// The seeded procedural model.
pub struct ProceduralPlay {
    rng: Rng,
    dt: f32,
    players: Vec<Body>,
    referee: Body,
    ball: (f32, f32, f32, f32),
    ball_z: f32,
    ball_vz: f32,
    owner: Option<usize>,
    last_kicker: Option<(usize, f32)>,
    hold_secs: f32,
    pass_target: Option<usize>,
    t: f32,
    out: Vec<Entity>,
}

impl ProceduralPlay {
    /// A match at `fps` frames per second from `seed`.
    pub fn new(seed: u64, fps: f32) -> Self {
        let mut rng = Rng::new(seed);
        let mut players = Vec::with_capacity(22);
        for team in 0..2 {
            for (i, &(fx, fy)) in FORMATION.iter().enumerate() {
                let (x, y) = slot(team, fx, fy, PITCH_LENGTH_M / 2.0);
                let max_speed = if i == 0 { 6.0 } else { rng.range(7.0, 9.0) };
                players.push(Body { x: x + rng.normal(), y: y + rng.normal(), vx: 0.0, vy: 0.0, max_speed });
            }
        }
        let referee = Body { x: 45.0, y: 30.0, vx: 0.0, vy: 0.0, max_speed: 7.0 };
        let kick_off = 9;
        let mut play = ProceduralPlay {
            rng,
            dt: 1.0 / fps,
            players,
            referee,
            ball: (PITCH_LENGTH_M / 2.0, PITCH_WIDTH_M / 2.0, 0.0, 0.0),
            ball_z: 0.0,
            ball_vz: 0.0,
            owner: Some(kick_off),
            last_kicker: None,
            hold_secs: 1.0,
            pass_target: None,
            t: 0.0,
            out: Vec::with_capacity(24),
        };
        play.players[kick_off].x = PITCH_LENGTH_M / 2.0 - 0.5;
        play.players[kick_off].y = PITCH_WIDTH_M / 2.0;
        play
    }

    fn team_of(i: usize) -> usize {
        i / 11
    }

    fn pass(&mut self, from: usize) {
        let team = Self::team_of(from);
        let (bx, by) = (self.ball.0, self.ball.1);
        let forward = if team == 0 { 1.0 } else { -1.0 };
        // Candidates: teammates, weighted towards those ahead and not too far.
        let mut best: Option<(usize, f32)> = None;
        for j in team * 11..team * 11 + 11 {
            if j == from {
                continue;
            }
            let (dx, dy) = (self.players[j].x - bx, self.players[j].y - by);
            let d = (dx * dx + dy * dy).sqrt();
            if !(6.0..40.0).contains(&d) {
                continue;
            }
            let score = dx * forward * 0.05 - (d - 18.0).abs() * 0.05 + self.rng.range(0.0, 1.5);
            if best.is_none_or(|b| score > b.1) {
                best = Some((j, score));
            }
        }
        let Some((to, _)) = best else { return };
        let target = &self.players[to];
        // Lead the receiver a little; speed so that friction stops the ball near them.
        let (tx, ty) = (target.x + target.vx * 0.6, target.y + target.vy * 0.6);
        let (dx, dy) = (tx - bx, ty - by);
        let d = (dx * dx + dy * dy).sqrt().max(0.1);
        let speed = (2.0 * BALL_FRICTION * d).sqrt().clamp(10.0, 26.0) + self.rng.range(0.0, 2.0);
        self.ball.2 = dx / d * speed;
        self.ball.3 = dy / d * speed;
        if d > 25.0 {
            // Long passes are lofted.
            self.ball_vz = self.rng.range(4.0, 8.0);
        }
        self.owner = None;
        self.last_kicker = Some((from, self.t));
        self.pass_target = Some(to);
    }
}

/// Rolling deceleration of the ball on grass, m/s^2.
const BALL_FRICTION: f32 = 5.0;
const GRAVITY: f32 = 9.81;

fn slot(team: usize, fx: f32, fy: f32, half: f32) -> (f32, f32) {
    if team == 0 { (fx * half, fy * PITCH_WIDTH_M) } else { (PITCH_LENGTH_M - fx * half, (1.0 - fy) * PITCH_WIDTH_M) }
}

fn steer(b: &mut Body, tx: f32, ty: f32, dt: f32, speed_cap: f32) {
    let (dx, dy) = (tx - b.x, ty - b.y);
    let d = (dx * dx + dy * dy).sqrt();
    let want = (d * 1.2).min(speed_cap.min(b.max_speed));
    let (wx, wy) = if d > 1e-3 { (dx / d * want, dy / d * want) } else { (0.0, 0.0) };
    let (ax, ay) = ((wx - b.vx) / dt, (wy - b.vy) / dt);
    let a = (ax * ax + ay * ay).sqrt();
    let k = if a > 4.0 { 4.0 / a } else { 1.0 };
    b.vx += ax * k * dt;
    b.vy += ay * k * dt;
    let s = (b.vx * b.vx + b.vy * b.vy).sqrt();
    if s > b.max_speed {
        b.vx *= b.max_speed / s;
        b.vy *= b.max_speed / s;
    }
    b.x = (b.x + b.vx * dt).clamp(-1.5, PITCH_LENGTH_M + 1.5);
    b.y = (b.y + b.vy * dt).clamp(-1.5, PITCH_WIDTH_M + 1.5);
}

impl Motion for ProceduralPlay {
    fn step(&mut self) -> &[Entity] {
        let dt = self.dt;
        self.t += dt;
        let (bx, by) = (self.ball.0, self.ball.1);

        // Ball.
        match self.owner {
            Some(o) => {
                let p = &self.players[o];
                let s = (p.vx * p.vx + p.vy * p.vy).sqrt().max(0.1);
                self.ball = (p.x + p.vx / s * 0.6, p.y + p.vy / s * 0.6, p.vx, p.vy);
                self.ball_z = 0.0;
                self.hold_secs -= dt;
                if self.hold_secs <= 0.0 {
                    self.pass(o);
                }
            }
            None => {
                let s = (self.ball.2 * self.ball.2 + self.ball.3 * self.ball.3).sqrt();
                let in_air = self.ball_z > 0.0 || self.ball_vz > 0.0;
                if !in_air && s > 0.0 {
                    let slow = (s - BALL_FRICTION * dt).max(0.0) / s;
                    self.ball.2 *= slow;
                    self.ball.3 *= slow;
                }
                self.ball.0 += self.ball.2 * dt;
                self.ball.1 += self.ball.3 * dt;
                if in_air {
                    self.ball_vz -= GRAVITY * dt;
                    self.ball_z = (self.ball_z + self.ball_vz * dt).max(0.0);
                    if self.ball_z == 0.0 {
                        self.ball_vz = if self.ball_vz < -3.0 { -self.ball_vz * 0.4 } else { 0.0 };
                    }
                }
                // Out of play: the ball comes back in at the edge, to the nearest player.
                if !(0.0..=PITCH_LENGTH_M).contains(&self.ball.0) || !(0.0..=PITCH_WIDTH_M).contains(&self.ball.1) {
                    self.ball.0 = self.ball.0.clamp(0.5, PITCH_LENGTH_M - 0.5);
                    self.ball.1 = self.ball.1.clamp(0.5, PITCH_WIDTH_M - 0.5);
                    self.ball.2 = 0.0;
                    self.ball.3 = 0.0;
                }
                // Control: the nearest player within reach (not the kicker just after the kick).
                if self.ball_z < 1.0 {
                    let mut best: Option<(usize, f32)> = None;
                    for (i, p) in self.players.iter().enumerate() {
                        if let Some((k, at)) = self.last_kicker
                            && k == i
                            && self.t - at < 0.6
                        {
                            continue;
                        }
                        let d = ((p.x - self.ball.0).powi(2) + (p.y - self.ball.1).powi(2)).sqrt();
                        if d < 1.0 && best.is_none_or(|b| d < b.1) {
                            best = Some((i, d));
                        }
                    }
                    if let Some((i, _)) = best {
                        self.owner = Some(i);
                        self.hold_secs = self.rng.range(0.6, 2.5);
                        self.pass_target = None;
                    }
                }
            }
        }

        // Players: both blocks keep their 4-4-2 shape around the ball, about 40 m deep and
        // 50 m wide; the nearest players of the side without the ball press it; the pass receiver
        // runs to the ball; everyone drifts a little around their slot.
        let ball_now = (self.ball.0, self.ball.1);
        let centre_x = bx * 0.8 + PITCH_LENGTH_M / 2.0 * 0.2;
        for team in 0..2 {
            let dir = if team == 0 { 1.0 } else { -1.0 };
            let in_possession = self.owner.is_some_and(|o| Self::team_of(o) == team);
            let mut order: Vec<(usize, f32)> = (team * 11 + 1..team * 11 + 11)
                .map(|i| (i, (self.players[i].x - ball_now.0).powi(2) + (self.players[i].y - ball_now.1).powi(2)))
                .collect();
            order.sort_by(|a, b| a.1.total_cmp(&b.1));
            let chasers = [order[0].0, order[1].0];
            for (k, &(fx, fy)) in FORMATION.iter().enumerate() {
                let i = team * 11 + k;
                let wander =
                    ((self.t * 0.4 + i as f32 * 1.7).sin() * 3.0, (self.t * 0.33 + i as f32 * 2.3).cos() * 3.0);
                let (mut tx, mut ty) = if k == 0 {
                    let goal_x = if team == 0 { 3.0 } else { PITCH_LENGTH_M - 3.0 };
                    (
                        goal_x + dir * ((bx - goal_x) * dir).max(0.0) * 0.08,
                        (PITCH_WIDTH_M / 2.0 + (by - PITCH_WIDTH_M / 2.0) * 0.15).clamp(28.0, 40.0),
                    )
                } else {
                    // Attacking sides push up, defending sides drop a few metres.
                    let push = if in_possession { 5.0 } else { -5.0 };
                    let slot_x = centre_x + dir * ((fx - 0.55) * 42.0 + push) + wander.0;
                    let slot_y = by + ((if team == 0 { fy } else { 1.0 - fy }) - 0.5) * 50.0 * 0.85 + wander.1;
                    (slot_x.clamp(2.0, PITCH_LENGTH_M - 2.0), slot_y.clamp(2.0, PITCH_WIDTH_M - 2.0))
                };
                let mut cap = 5.0;
                if self.owner == Some(i) {
                    // Dribble towards the opponent's goal, wobbling.
                    let goal_x = if team == 0 { PITCH_LENGTH_M } else { 0.0 };
                    tx = goal_x;
                    ty = self.players[i].y + (self.t * 1.3 + i as f32).sin() * 6.0;
                    cap = 5.5;
                } else if self.pass_target == Some(i) || (k != 0 && chasers.contains(&i) && !in_possession) {
                    tx = ball_now.0;
                    ty = ball_now.1;
                    cap = 9.0;
                }
                steer(&mut self.players[i], tx, ty, dt, cap);
            }
        }
        let (rx, ry) = ((ball_now.0 - 12.0).clamp(5.0, 100.0), (ball_now.1 + 10.0).clamp(5.0, 63.0));
        steer(&mut self.referee, rx, ry, dt, 6.0);

        self.out.clear();
        for (i, p) in self.players.iter().enumerate() {
            let role = if i % 11 == 0 { Role::Goalkeeper } else { Role::Player };
            let speed = (p.vx * p.vx + p.vy * p.vy).sqrt();
            self.out.push(Entity { id: i as u32 + 1, team: (i / 11) as u8, role, x: p.x, y: p.y, z: 0.0, speed });
        }
        let r = &self.referee;
        self.out.push(Entity {
            id: REFEREE_ID,
            team: 2,
            role: Role::Referee,
            x: r.x,
            y: r.y,
            z: 0.0,
            speed: (r.vx * r.vx + r.vy * r.vy).sqrt(),
        });
        let bs = (self.ball.2 * self.ball.2 + self.ball.3 * self.ball.3).sqrt();
        self.out.push(Entity {
            id: BALL_ID,
            team: 2,
            role: Role::Ball,
            x: self.ball.0,
            y: self.ball.1,
            z: self.ball_z,
            speed: bs,
        });
        &self.out
    }
}

/// Real trajectories from a TRACAB-format folder (`home/*.csv`, `away/*.csv`, `ball/*.csv`,
/// header `"Timestamp","X","Y","Z","ID"`, metres from the centre spot, 25 Hz).
pub struct TracabPlay {
    frames: Vec<Vec<Entity>>,
    next: usize,
    stride: usize,
}

/// Why TRACAB data could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read TRACAB data in {path}: {message}")]
pub struct TracabError {
    /// Folder.
    pub path: String,
    /// What failed.
    pub message: String,
}

impl TracabPlay {
    /// Loads `frames` frames at `fps` (25 or a divisor of it) starting `start_secs` into the data.
    /// Goalkeepers are the ids given; everyone else in `home`/`away` is an outfield player.
    pub fn load(
        dir: &Path,
        start_secs: f32,
        frames: usize,
        fps: f32,
        goalkeeper_ids: &[u32],
    ) -> Result<Self, TracabError> {
        let err = |m: String| TracabError { path: dir.display().to_string(), message: m };
        let stride = (25.0 / fps).round().max(1.0) as usize;
        let first = (start_secs * 25.0) as usize;
        let rows = frames * stride;
        let mut out: Vec<Vec<Entity>> = vec![Vec::with_capacity(24); frames];
        let mut next_id = 1u32;
        for (team, sub) in [(0u8, "home"), (1u8, "away"), (2u8, "ball")] {
            let mut files: Vec<_> =
                std::fs::read_dir(dir.join(sub)).map_err(|e| err(e.to_string()))?.flatten().map(|e| e.path()).collect();
            files.sort();
            for f in files {
                let text = std::fs::read_to_string(&f).map_err(|e| err(e.to_string()))?;
                let mut prev: Option<(f32, f32)> = None;
                let mut id = 0u32;
                let mut gt_id = 0u32;
                for (k, line) in text.lines().skip(1).skip(first).take(rows).enumerate() {
                    let v: Vec<f32> =
                        line.split(',').map(|t| t.trim_matches('"').parse().unwrap_or(f32::NAN)).collect();
                    if v.len() < 5 || v.iter().any(|x| x.is_nan()) {
                        return Err(err(format!("bad row in {}: {line}", f.display())));
                    }
                    if k == 0 {
                        id = v[4] as u32;
                        gt_id = if team == 2 { BALL_ID } else { next_id };
                    }
                    let (x, y) = (v[1] + PITCH_LENGTH_M / 2.0, v[2] + PITCH_WIDTH_M / 2.0);
                    let speed = prev.map_or(0.0, |(px, py)| ((x - px).powi(2) + (y - py).powi(2)).sqrt() * 25.0);
                    prev = Some((x, y));
                    if k % stride != 0 {
                        continue;
                    }
                    let role = if team == 2 {
                        Role::Ball
                    } else if goalkeeper_ids.contains(&id) {
                        Role::Goalkeeper
                    } else {
                        Role::Player
                    };
                    let z = if team == 2 { v[3] } else { 0.0 };
                    out[k / stride].push(Entity { id: gt_id, team, role, x, y, z, speed });
                }
                if team != 2 {
                    next_id += 1;
                }
            }
        }
        if out.iter().any(|f| f.is_empty()) {
            return Err(err("fewer rows than requested".into()));
        }
        Ok(TracabPlay { frames: out, next: 0, stride })
    }

    /// Frames of data between two output frames.
    pub fn stride(&self) -> usize {
        self.stride
    }
}

impl Motion for TracabPlay {
    fn step(&mut self) -> &[Entity] {
        let i = self.next.min(self.frames.len() - 1);
        self.next += 1;
        &self.frames[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedural_play_is_deterministic_and_physically_plausible() {
        let mut a = ProceduralPlay::new(7, 25.0);
        let mut b = ProceduralPlay::new(7, 25.0);
        let mut max_player = 0.0f32;
        let mut max_ball = 0.0f32;
        let mut ball_path = 0.0f32;
        let mut last_ball: Option<(f32, f32)> = None;
        for _ in 0..25 * 30 {
            let ea = a.step().to_vec();
            let eb = b.step().to_vec();
            assert_eq!(ea, eb);
            for e in &ea {
                match e.role {
                    Role::Ball => {
                        max_ball = max_ball.max(e.speed);
                        if let Some((x, y)) = last_ball {
                            ball_path += ((e.x - x).powi(2) + (e.y - y).powi(2)).sqrt();
                        }
                        last_ball = Some((e.x, e.y));
                    }
                    _ => max_player = max_player.max(e.speed),
                }
                assert!((-2.0..=107.0).contains(&e.x) && (-2.0..=70.0).contains(&e.y), "{e:?}");
            }
        }
        assert!(max_player <= 9.01 && max_player > 5.0, "player top speed {max_player}");
        assert!(max_ball <= 30.0 && max_ball > 10.0, "ball top speed {max_ball}");
        // The ball actually moves around: passes happen.
        assert!(ball_path > 100.0, "ball travelled {ball_path} m in 30 s");
        let mut c = ProceduralPlay::new(8, 25.0);
        assert_ne!(c.step().to_vec(), ProceduralPlay::new(7, 25.0).step().to_vec());
    }
}
