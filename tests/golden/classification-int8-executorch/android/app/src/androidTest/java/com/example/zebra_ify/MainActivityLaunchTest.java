package com.example.zebra_ify;

import static org.junit.Assert.assertEquals;

import androidx.lifecycle.Lifecycle;
import androidx.test.core.app.ActivityScenario;
import androidx.test.ext.junit.runners.AndroidJUnit4;

import org.junit.Test;
import org.junit.runner.RunWith;

/** Catches crashes at start-up: a missing view id, theme attribute or manifest entry. */
@RunWith(AndroidJUnit4.class)
public class MainActivityLaunchTest {
    @Test
    public void launchesToResumed() {
        try (ActivityScenario<MainActivity> scenario = ActivityScenario.launch(MainActivity.class)) {
            assertEquals(Lifecycle.State.RESUMED, scenario.getState());
        }
    }
}
